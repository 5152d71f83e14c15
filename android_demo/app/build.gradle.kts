import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.lsid.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.lsid.demo"
        // 29: CaptureResult.SENSOR_DYNAMIC_BLACK_LEVEL / SENSOR_DYNAMIC_WHITE_LEVEL exist and
        // MediaStore.IS_PENDING saves without the storage permission.
        minSdk = 29
        targetSdk = 35
        versionCode = 1
        versionName = "0.1"
        ndk {
            abiFilters += listOf("arm64-v8a")
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
}
