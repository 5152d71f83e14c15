import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.lsid.demo"
    // 36: core-ktx 1.17, activity 1.12 and lifecycle 2.10 require it (checkDebugAarMetadata).
    compileSdk = 36

    defaultConfig {
        applicationId = "org.lsid.demo"
        // 29: CaptureResult.SENSOR_DYNAMIC_BLACK_LEVEL / SENSOR_DYNAMIC_WHITE_LEVEL exist and
        // MediaStore.IS_PENDING saves without the storage permission.
        minSdk = 29
        // 36: edge-to-edge is enforced (the activity applies the system bar insets).
        targetSdk = 36
        versionCode = 1
        versionName = "0.1"
        // Phones are arm64; x86_64 is the emulator's (RAW capture needs a real camera there,
        // Open DNG works). LiteRT ships its native library for both.
        ndk {
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_11
        targetCompatibility = JavaVersion.VERSION_11
    }

    // An exported model is several MB of weights: keep it uncompressed so LiteRT can map it.
    androidResources {
        noCompress += "tflite"
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_11)
    }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.litert)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.appcompat)
    implementation(libs.androidx.activity.ktx)
    implementation(libs.androidx.lifecycle.viewmodel.ktx)
    implementation(libs.androidx.lifecycle.livedata.ktx)
}
