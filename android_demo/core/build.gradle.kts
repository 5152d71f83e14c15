// The plain-Java core: no Android dependency. In Android Studio it builds with Gradle; CI builds
// and tests the same sources with javac and JUnit 5 from Debian (core/test_core.sh).
plugins {
    `java-library`
}

java {
    // Android's D8 desugars Java 11 language features; the core uses no newer JDK API.
    sourceCompatibility = JavaVersion.VERSION_11
    targetCompatibility = JavaVersion.VERSION_11
}

dependencies {
    testImplementation(platform(libs.junit.bom))
    testImplementation(libs.junit.jupiter)
    testRuntimeOnly(libs.junit.platform.launcher)
}

tasks.test {
    useJUnitPlatform()
}
