pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "lsid-android-demo"
// core: plain Java, no Android dependency (built with javac + JUnit 5 in CI, see core/test_core.sh)
include(":core")
// app: Camera2, LiteRT and the UI, glued to core
include(":app")
