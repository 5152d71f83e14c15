#!/usr/bin/env python3
"""Type-checks the Android app's Kotlin here, without the Android SDK: not a build.

The app module cannot be built on this project's machines (no Android SDK, no Maven). This
compiles its Kotlin sources with a stock `kotlinc` against the plain-Java core and stubs: the
Android and AndroidX classes the app calls (signatures as the platform declares them, bodies
empty), LiteRT 2.1.6's Kotlin API (signatures of its sources at tag v2.1.6) and an `R` made
from the layout and strings. It catches what a compiler catches in our own Kotlin (types,
nullability, overrides, SAM conversions, a renamed core method); it cannot catch a call whose
stub is wrong, nor resource, manifest or Gradle problems. A stub for a newly used API goes
into STUBS below, copied from the platform's declaration; a return the platform may give as
null is marked @android.annotation.Nullable (which Kotlin reads as the SDK's own marks), so
the check is at least as strict about null as a real build.

Usage: python android_demo/tools/typecheck_app.py [--kotlinc PATH]
Without --kotlinc (or $KOTLINC) it unpacks npm's `kotlin-compiler` package (about 90 MB, the
JetBrains compiler distribution) into ~/.cache/lsid-kotlinc once. Needs javac (JDK 17) and,
for that first run, npm. Prints "kotlin app: type-check passed" and exits 0, or the
compiler's errors and exits 1.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent
APP = DEMO / "app" / "src" / "main"
CORE = DEMO / "core" / "src" / "main" / "java"
KOTLIN_COMPILER = "kotlin-compiler@2.4.20"
#: The Kotlin the app is built with (gradle/libs.versions.toml); the newer compiler checks at it.
LANGUAGE_VERSION = "2.2"
CACHE = Path.home() / ".cache" / "lsid-kotlinc"

#: Java stubs of the Android and AndroidX classes the app uses: path -> source.
STUBS = {
    "android/Manifest.java": """
package android;
public final class Manifest { public static final class permission { public static final
      String CAMERA = "android.permission.CAMERA"; } }""",
    "android/annotation/Nullable.java": """
package android.annotation;
public @interface Nullable {}""",
    "android/annotation/SuppressLint.java": """
package android.annotation;
public @interface SuppressLint { String[] value(); }""",
    "android/app/Activity.java": """
package android.app;
public class Activity extends android.content.ContextWrapper {
  protected void onCreate(android.os.Bundle savedInstanceState) {}
  public android.view.WindowManager getWindowManager() { return null; }
  public <T extends android.view.View> T findViewById(int id) { return null; }
  public void setContentView(int layoutResID) {}
}""",
    "android/app/Application.java": """
package android.app;
public class Application extends android.content.ContextWrapper {}""",
    "android/content/ContentResolver.java": """
package android.content;
import android.net.Uri;
public abstract class ContentResolver {
  public final @android.annotation.Nullable java.io.InputStream openInputStream(Uri uri) throws
      java.io.FileNotFoundException { return null; }
  public final @android.annotation.Nullable java.io.OutputStream openOutputStream(Uri uri) throws
      java.io.FileNotFoundException { return null; }
  public final @android.annotation.Nullable android.database.Cursor query(Uri uri, String[]
      projection, String
      selection, String[] selectionArgs, String sortOrder) { return null; }
  public final @android.annotation.Nullable Uri insert(Uri url, ContentValues values) {
      return null; }
  public final int update(Uri uri, ContentValues values, String where, String[]
      selectionArgs) { return 0; }
  public final int delete(Uri url, String where, String[] selectionArgs) { return 0; }
}""",
    "android/content/ContentValues.java": """
package android.content;
public final class ContentValues {
  public void put(String key, String value) {}
  public void put(String key, Integer value) {}
  public void clear() {}
}""",
    "android/content/Context.java": """
package android.content;
public abstract class Context {
  public static final String CAMERA_SERVICE = "camera";
  public abstract @android.annotation.Nullable Object getSystemService(String name);
  public abstract ContentResolver getContentResolver();
  public abstract android.content.res.AssetManager getAssets();
  public final String getString(int resId) { return null; }
  public @android.annotation.Nullable android.view.Display getDisplay() { return null; }
}""",
    "android/content/ContextWrapper.java": """
package android.content;
public class ContextWrapper extends Context {
  public @android.annotation.Nullable Object getSystemService(String name) { return null; }
  public ContentResolver getContentResolver() { return null; }
  public android.content.res.AssetManager getAssets() { return null; }
}""",
    "android/content/pm/PackageManager.java": """
package android.content.pm;
public abstract class PackageManager { public static final int PERMISSION_GRANTED = 0; }""",
    "android/content/res/AssetFileDescriptor.java": """
package android.content.res;
public class AssetFileDescriptor implements java.io.Closeable {
  public java.io.FileDescriptor getFileDescriptor() { return null; }
  public long getStartOffset() { return 0; }
  public long getDeclaredLength() { return 0; }
  public void close() throws java.io.IOException {}
}""",
    "android/content/res/AssetManager.java": """
package android.content.res;
public final class AssetManager implements AutoCloseable {
  public @android.annotation.Nullable String[] list(String path) throws java.io.IOException
      { return null; }
  public java.io.InputStream open(String fileName) throws java.io.IOException { return
      null; }
  public AssetFileDescriptor openFd(String fileName) throws java.io.IOException { return
      null; }
  public void close() {}
}""",
    "android/database/Cursor.java": """
package android.database;
public interface Cursor extends java.io.Closeable { boolean moveToFirst(); String
      getString(int columnIndex); void close(); }""",
    "android/graphics/Bitmap.java": """
package android.graphics;
public final class Bitmap {
  public enum Config { ARGB_8888 }
  public enum CompressFormat { JPEG }
  public static Bitmap createBitmap(int[] colors, int width, int height, Config config) {
      return null; }
  public boolean compress(CompressFormat format, int quality, java.io.OutputStream stream)
      { return false; }
}""",
    "android/graphics/ImageFormat.java": """
package android.graphics;
public class ImageFormat { public static final int RAW_SENSOR = 0x20;
      public static final int YUV_420_888 = 0x23; }""",
    "android/graphics/Rect.java": """
package android.graphics;
public final class Rect { public int left, top, right, bottom; }""",
    "android/hardware/camera2/CameraAccessException.java": """
package android.hardware.camera2;
public class CameraAccessException extends android.util.AndroidException {}""",
    "android/hardware/camera2/CameraCaptureSession.java": """
package android.hardware.camera2;
public abstract class CameraCaptureSession implements AutoCloseable {
  public abstract int setRepeatingRequest(CaptureRequest request, CaptureCallback listener,
      android.os.Handler handler) throws CameraAccessException;
  public abstract int capture(CaptureRequest request, CaptureCallback listener,
      android.os.Handler handler) throws CameraAccessException;
  public abstract void stopRepeating() throws CameraAccessException;
  public abstract void close();
  public static abstract class StateCallback {
    public abstract void onConfigured(CameraCaptureSession session);
    public abstract void onConfigureFailed(CameraCaptureSession session);
  }
  public static abstract class CaptureCallback {
    public void onCaptureStarted(CameraCaptureSession session, CaptureRequest request, long
      timestamp, long frameNumber) {}
    public void onCaptureCompleted(CameraCaptureSession session, CaptureRequest request,
      TotalCaptureResult result) {}
    public void onCaptureFailed(CameraCaptureSession session, CaptureRequest request,
      CaptureFailure failure) {}
    public void onCaptureSequenceAborted(CameraCaptureSession session, int sequenceId) {}
    public void onCaptureBufferLost(CameraCaptureSession session, CaptureRequest request,
      android.view.Surface target, long frameNumber) {}
  }
}""",
    "android/hardware/camera2/CameraCharacteristics.java": """
package android.hardware.camera2;
import android.hardware.camera2.params.*;
public final class CameraCharacteristics extends
      CameraMetadata<CameraCharacteristics.Key<?>> {
  public static final class Key<T> {}
  public @android.annotation.Nullable <T> T get(Key<T> key) { return null; }
  public static final Key<int[]> REQUEST_AVAILABLE_CAPABILITIES = null;
  public static final Key<Integer> LENS_FACING = null;
  public static final Key<Integer> SENSOR_ORIENTATION = null;
  public static final Key<StreamConfigurationMap> SCALER_STREAM_CONFIGURATION_MAP = null;
  public static final Key<android.util.Range<Long>> SENSOR_INFO_EXPOSURE_TIME_RANGE = null;
  public static final Key<android.util.Range<Integer>> SENSOR_INFO_SENSITIVITY_RANGE = null;
  public static final Key<int[]> NOISE_REDUCTION_AVAILABLE_NOISE_REDUCTION_MODES = null;
  public static final Key<Integer> SENSOR_INFO_COLOR_FILTER_ARRANGEMENT = null;
  public static final Key<BlackLevelPattern> SENSOR_BLACK_LEVEL_PATTERN = null;
  public static final Key<Integer> SENSOR_INFO_WHITE_LEVEL = null;
  public static final Key<android.util.Size> SENSOR_INFO_PIXEL_ARRAY_SIZE = null;
  public static final Key<android.graphics.Rect>
      SENSOR_INFO_PRE_CORRECTION_ACTIVE_ARRAY_SIZE = null;
  public static final Key<Integer> SENSOR_REFERENCE_ILLUMINANT1 = null;
  public static final Key<Byte> SENSOR_REFERENCE_ILLUMINANT2 = null;
  public static final Key<ColorSpaceTransform> SENSOR_COLOR_TRANSFORM1 = null;
  public static final Key<ColorSpaceTransform> SENSOR_COLOR_TRANSFORM2 = null;
  public static final Key<ColorSpaceTransform> SENSOR_CALIBRATION_TRANSFORM1 = null;
  public static final Key<ColorSpaceTransform> SENSOR_CALIBRATION_TRANSFORM2 = null;
}""",
    "android/hardware/camera2/CameraDevice.java": """
package android.hardware.camera2;
public abstract class CameraDevice implements AutoCloseable {
  public static final int TEMPLATE_PREVIEW = 1;
  public static final int TEMPLATE_STILL_CAPTURE = 2;
  public abstract CaptureRequest.Builder createCaptureRequest(int templateType) throws
      CameraAccessException;
  public void createCaptureSession(android.hardware.camera2.params.SessionConfiguration
      config) throws CameraAccessException {}
  public abstract void close();
  public static abstract class StateCallback {
    public static final int ERROR_CAMERA_IN_USE = 1;
    public static final int ERROR_MAX_CAMERAS_IN_USE = 2;
    public static final int ERROR_CAMERA_DISABLED = 3;
    public static final int ERROR_CAMERA_DEVICE = 4;
    public static final int ERROR_CAMERA_SERVICE = 5;
    public abstract void onOpened(CameraDevice camera);
    public abstract void onDisconnected(CameraDevice camera);
    public abstract void onError(CameraDevice camera, int error);
  }
}""",
    "android/hardware/camera2/CameraManager.java": """
package android.hardware.camera2;
public final class CameraManager {
  public String[] getCameraIdList() throws CameraAccessException { return null; }
  public CameraCharacteristics getCameraCharacteristics(String cameraId) throws
      CameraAccessException { return null; }
  public void openCamera(String cameraId, CameraDevice.StateCallback callback,
      android.os.Handler handler) throws CameraAccessException {}
}""",
    "android/hardware/camera2/CameraMetadata.java": """
package android.hardware.camera2;
public abstract class CameraMetadata<TKey> {
  public static final int LENS_FACING_FRONT = 0;
  public static final int LENS_FACING_BACK = 1;
  public static final int REQUEST_AVAILABLE_CAPABILITIES_MANUAL_SENSOR = 1;
  public static final int REQUEST_AVAILABLE_CAPABILITIES_RAW = 3;
  public static final int CONTROL_AE_MODE_OFF = 0;
  public static final int CONTROL_AE_STATE_CONVERGED = 2;
  public static final int CONTROL_AE_STATE_LOCKED = 3;
  public static final int CONTROL_AE_STATE_FLASH_REQUIRED = 4;
  public static final int NOISE_REDUCTION_MODE_OFF = 0;
}""",
    "android/hardware/camera2/CaptureFailure.java": """
package android.hardware.camera2;
public class CaptureFailure { public static final int REASON_ERROR = 0; public static final
      int REASON_FLUSHED = 1; public int getReason() { return 0; } }""",
    "android/hardware/camera2/CaptureRequest.java": """
package android.hardware.camera2;
public final class CaptureRequest extends CameraMetadata<CaptureRequest.Key<?>> {
  public static final class Key<T> {}
  public static final class Builder {
    public void addTarget(android.view.Surface outputTarget) {}
    public <T> void set(Key<T> key, T value) {}
    public CaptureRequest build() { return null; }
  }
  public static final Key<Integer> NOISE_REDUCTION_MODE = null;
  public static final Key<Integer> CONTROL_AE_MODE = null;
  public static final Key<Long> SENSOR_EXPOSURE_TIME = null;
  public static final Key<Integer> SENSOR_SENSITIVITY = null;
  public static final Key<Long> SENSOR_FRAME_DURATION = null;
  public static final Key<Boolean> CONTROL_AWB_LOCK = null;
}""",
    "android/hardware/camera2/CaptureResult.java": """
package android.hardware.camera2;
public class CaptureResult extends CameraMetadata<CaptureResult.Key<?>> {
  public static final class Key<T> {}
  public @android.annotation.Nullable <T> T get(Key<T> key) { return null; }
  public static final Key<Integer> CONTROL_AE_STATE = null;
  public static final Key<Long> SENSOR_EXPOSURE_TIME = null;
  public static final Key<Integer> SENSOR_SENSITIVITY = null;
  public static final Key<Integer> CONTROL_POST_RAW_SENSITIVITY_BOOST = null;
  public static final Key<Long> SENSOR_TIMESTAMP = null;
  public static final Key<float[]> SENSOR_DYNAMIC_BLACK_LEVEL = null;
  public static final Key<Integer> SENSOR_DYNAMIC_WHITE_LEVEL = null;
  public static final Key<android.hardware.camera2.params.RggbChannelVector>
      COLOR_CORRECTION_GAINS = null;
}""",
    "android/hardware/camera2/DngCreator.java": """
package android.hardware.camera2;
public final class DngCreator implements AutoCloseable {
  public DngCreator(CameraCharacteristics characteristics, CaptureResult metadata) {}
  public DngCreator setDescription(String description) { return this; }
  public DngCreator setOrientation(int orientation) { return this; }
  public void writeImage(java.io.OutputStream dngOutput, android.media.Image pixels) throws
      java.io.IOException {}
  public void close() {}
}""",
    "android/hardware/camera2/TotalCaptureResult.java": """
package android.hardware.camera2;
public final class TotalCaptureResult extends CaptureResult {}""",
    "android/hardware/camera2/params/BlackLevelPattern.java": """
package android.hardware.camera2.params;
public final class BlackLevelPattern { public int getOffsetForIndex(int column, int row) {
      return 0; } }""",
    "android/hardware/camera2/params/ColorSpaceTransform.java": """
package android.hardware.camera2.params;
public final class ColorSpaceTransform { public android.util.Rational getElement(int
      column, int row) { return null; } }""",
    "android/hardware/camera2/params/OutputConfiguration.java": """
package android.hardware.camera2.params;
public final class OutputConfiguration { public OutputConfiguration(android.view.Surface
      surface) {} }""",
    "android/hardware/camera2/params/RggbChannelVector.java": """
package android.hardware.camera2.params;
public final class RggbChannelVector { public float getRed() { return 0; } public float
      getGreenEven() { return 0; } public float getGreenOdd() { return 0; } public float
      getBlue() { return 0; } }""",
    "android/hardware/camera2/params/SessionConfiguration.java": """
package android.hardware.camera2.params;
public final class SessionConfiguration {
  public static final int SESSION_REGULAR = 0;
  public SessionConfiguration(int sessionType, java.util.List<OutputConfiguration> outputs,
      java.util.concurrent.Executor executor,
      android.hardware.camera2.CameraCaptureSession.StateCallback cb) {}
}""",
    "android/hardware/camera2/params/StreamConfigurationMap.java": """
package android.hardware.camera2.params;
public final class StreamConfigurationMap {
  public @android.annotation.Nullable android.util.Size[] getOutputSizes(int format) {
      return null; }
  public long getOutputMinFrameDuration(int format, android.util.Size size) { return 0; }
}""",
    "android/media/Image.java": """
package android.media;
public abstract class Image implements AutoCloseable {
  public abstract int getWidth(); public abstract int getHeight(); public abstract long
      getTimestamp();
  public abstract Plane[] getPlanes(); public abstract void close();
  public static abstract class Plane { public abstract int getRowStride(); public abstract
      int getPixelStride(); public abstract java.nio.ByteBuffer getBuffer(); }
}""",
    "android/media/ImageReader.java": """
package android.media;
public class ImageReader implements AutoCloseable {
  public static ImageReader newInstance(int width, int height, int format, int maxImages) {
      return null; }
  public interface OnImageAvailableListener { void onImageAvailable(ImageReader reader); }
  public void setOnImageAvailableListener(OnImageAvailableListener listener,
      android.os.Handler handler) {}
  public @android.annotation.Nullable Image acquireNextImage() { return null; }
  public @android.annotation.Nullable Image acquireLatestImage() { return null; }
  public android.view.Surface getSurface() { return null; }
  public void close() {}
}""",
    "android/net/Uri.java": """
package android.net;
public abstract class Uri {}""",
    "android/os/Build.java": """
package android.os;
public class Build { public static class VERSION { public static final int SDK_INT = 0; }
  public static class VERSION_CODES { public static final int R = 30; } }""",
    "android/os/Bundle.java": """
package android.os;
public final class Bundle {}""",
    "android/os/Environment.java": """
package android.os;
public class Environment { public static String DIRECTORY_PICTURES = "Pictures"; }""",
    "android/os/Handler.java": """
package android.os;
public class Handler {
  public Handler(Looper looper) {}
  public final boolean post(Runnable r) { return true; }
  public final boolean postDelayed(Runnable r, long delayMillis) { return true; }
  public final void removeCallbacks(Runnable r) {}
}""",
    "android/os/HandlerThread.java": """
package android.os;
public class HandlerThread extends Thread {
  public HandlerThread(String name) {}
  public Looper getLooper() { return null; }
  public boolean quitSafely() { return true; }
}""",
    "android/os/Looper.java": """
package android.os;
public final class Looper {}""",
    "android/os/SystemClock.java": """
package android.os;
public final class SystemClock { public static long elapsedRealtime() { return 0; } }""",
    "android/provider/MediaStore.java": """
package android.provider;
public final class MediaStore {
  public static final String VOLUME_EXTERNAL_PRIMARY = "external_primary";
  public interface MediaColumns { String DISPLAY_NAME = "_display_name"; String MIME_TYPE =
      "mime_type"; String RELATIVE_PATH = "relative_path"; String IS_PENDING =
      "is_pending"; }
  public static final class Images {
    public interface ImageColumns extends MediaColumns {}
    public static final class Media implements ImageColumns { public static android.net.Uri
      getContentUri(String volumeName) { return null; } }
  }
}""",
    "android/provider/OpenableColumns.java": """
package android.provider;
public interface OpenableColumns { String DISPLAY_NAME = "_display_name"; }""",
    "android/util/AndroidException.java": """
package android.util;
public class AndroidException extends Exception {}""",
    "android/util/Range.java": """
package android.util;
public final class Range<T extends Comparable<? super T>> { public T getLower() { return
      null; } public T getUpper() { return null; } }""",
    "android/util/Rational.java": """
package android.util;
public final class Rational extends Number implements Comparable<Rational> {
  public double doubleValue() { return 0; } public float floatValue() { return 0; } public
      int intValue() { return 0; } public long longValue() { return 0; }
  public int compareTo(Rational o) { return 0; }
}""",
    "android/util/Size.java": """
package android.util;
public final class Size { public int getWidth() { return 0; } public int getHeight() {
      return 0; } }""",
    "android/view/Display.java": """
package android.view;
public final class Display { public int getRotation() { return 0; } }""",
    "android/view/Surface.java": """
package android.view;
public class Surface { public static final int ROTATION_0 = 0; public static final int
      ROTATION_90 = 1; public static final int ROTATION_180 = 2; public static final int
      ROTATION_270 = 3; }""",
    "android/view/WindowManager.java": """
package android.view;
public interface WindowManager { @Deprecated Display getDefaultDisplay(); }""",
    "android/view/View.java": """
package android.view;
public class View {
  public interface OnClickListener { void onClick(View v); }
  public void setOnClickListener(OnClickListener l) {}
  public void setPadding(int left, int top, int right, int bottom) {}
  public void setEnabled(boolean enabled) {}
  public boolean isEnabled() { return true; }
}""",
    "android/widget/AbsSeekBar.java": """
package android.widget;
public abstract class AbsSeekBar extends ProgressBar {}""",
    "android/widget/Button.java": """
package android.widget;
public class Button extends TextView {}""",
    "android/widget/CheckBox.java": """
package android.widget;
public class CheckBox extends CompoundButton {}""",
    "android/widget/CompoundButton.java": """
package android.widget;
public abstract class CompoundButton extends Button {
  public interface OnCheckedChangeListener { void onCheckedChanged(CompoundButton
      buttonView, boolean isChecked); }
  public void setOnCheckedChangeListener(OnCheckedChangeListener listener) {}
  public boolean isChecked() { return false; } public void setChecked(boolean checked) {}
}""",
    "android/widget/ImageView.java": """
package android.widget;
public class ImageView extends android.view.View { public void
      setImageBitmap(android.graphics.Bitmap bm) {} }""",
    "android/widget/ProgressBar.java": """
package android.widget;
public class ProgressBar extends android.view.View {
  public synchronized int getMax() { return 0; } public synchronized void setMax(int max) {}
  public synchronized int getProgress() { return 0; } public synchronized void
      setProgress(int progress) {}
}""",
    "android/widget/SeekBar.java": """
package android.widget;
public class SeekBar extends AbsSeekBar {
  public interface OnSeekBarChangeListener { void onProgressChanged(SeekBar seekBar, int
      progress, boolean fromUser); void onStartTrackingTouch(SeekBar seekBar); void
      onStopTrackingTouch(SeekBar seekBar); }
  public void setOnSeekBarChangeListener(OnSeekBarChangeListener l) {}
}""",
    "android/widget/TextView.java": """
package android.widget;
public class TextView extends android.view.View { public void setText(CharSequence text) {}
      public CharSequence getText() { return null; } }""",
    "androidx/activity/ComponentActivity.java": """
package androidx.activity;
public class ComponentActivity extends android.app.Activity implements
      androidx.lifecycle.LifecycleOwner {
  public final <I, O> androidx.activity.result.ActivityResultLauncher<I>
      registerForActivityResult(androidx.activity.result.contract.ActivityResultContract<I,
      O> contract, androidx.activity.result.ActivityResultCallback<O> callback) { return
      null; }
}""",
    "androidx/activity/result/ActivityResultCallback.java": """
package androidx.activity.result;
public interface ActivityResultCallback<O> { void onActivityResult(O result); }""",
    "androidx/activity/result/ActivityResultLauncher.java": """
package androidx.activity.result;
public abstract class ActivityResultLauncher<I> { public void launch(I input) {} }""",
    "androidx/activity/result/contract/ActivityResultContract.java": """
package androidx.activity.result.contract;
public abstract class ActivityResultContract<I, O> {}""",
    "androidx/activity/result/contract/ActivityResultContracts.java": """
package androidx.activity.result.contract;
public final class ActivityResultContracts {
  public static final class RequestPermission extends ActivityResultContract<String,
      Boolean> {}
  public static class OpenDocument extends ActivityResultContract<String[],
      android.net.Uri> {}
}""",
    "androidx/appcompat/app/AppCompatActivity.java": """
package androidx.appcompat.app;
public class AppCompatActivity extends androidx.activity.ComponentActivity {}""",
    "androidx/core/content/ContextCompat.java": """
package androidx.core.content;
public class ContextCompat { public static int checkSelfPermission(android.content.Context
      context, String permission) { return 0; } }""",
    "androidx/core/graphics/Insets.java": """
package androidx.core.graphics;
public final class Insets { public final int left = 0, top = 0, right = 0, bottom = 0; }""",
    "androidx/core/view/OnApplyWindowInsetsListener.java": """
package androidx.core.view;
public interface OnApplyWindowInsetsListener { WindowInsetsCompat
      onApplyWindowInsets(android.view.View v, WindowInsetsCompat insets); }""",
    "androidx/core/view/ViewCompat.java": """
package androidx.core.view;
public class ViewCompat { public static void
      setOnApplyWindowInsetsListener(android.view.View v, OnApplyWindowInsetsListener
      listener) {} }""",
    "androidx/core/view/WindowInsetsCompat.java": """
package androidx.core.view;
public class WindowInsetsCompat {
  public static final WindowInsetsCompat CONSUMED = null;
  public androidx.core.graphics.Insets getInsets(int typeMask) { return null; }
  public static final class Type { public static int systemBars() { return 0; } public
      static int displayCutout() { return 0; } }
}""",
    "androidx/lifecycle/AndroidViewModel.java": """
package androidx.lifecycle;
public class AndroidViewModel extends ViewModel { public
      AndroidViewModel(android.app.Application application) {} }""",
    "androidx/lifecycle/LifecycleOwner.java": """
package androidx.lifecycle;
public interface LifecycleOwner {}""",
    "androidx/lifecycle/LiveData.java": """
package androidx.lifecycle;
public abstract class LiveData<T> {
  public LiveData(T value) {} public LiveData() {}
  public void observe(LifecycleOwner owner, Observer<? super T> observer) {}
  protected void postValue(T value) {} protected void setValue(T value) {}
  public T getValue() { return null; }
}""",
    "androidx/lifecycle/MutableLiveData.java": """
package androidx.lifecycle;
public class MutableLiveData<T> extends LiveData<T> {
  public MutableLiveData(T value) { super(value); } public MutableLiveData() {}
  public void postValue(T value) {} public void setValue(T value) {}
}""",
    "androidx/lifecycle/Observer.java": """
package androidx.lifecycle;
public interface Observer<T> { void onChanged(T value); }""",
    "androidx/lifecycle/ViewModel.java": """
package androidx.lifecycle;
public abstract class ViewModel { protected void onCleared() {} }""",
}

LITERT = '''package com.google.ai.edge.litert

// Signatures of LiteRT 2.1.6's Kotlin API (litert/kotlin/src/main/kotlin/com/google/ai/edge/
// litert/{Common,Model,TensorBuffer,LiteRtException}.kt at tag v2.1.6), bodies left out.

enum class Accelerator { NONE, CPU, GPU, NPU }

class LiteRtException(message: String) : Exception(message)

abstract class JniHandle : AutoCloseable {
    protected abstract fun destroy()
    final override fun close() = destroy()
}

class TensorBuffer : JniHandle() {
    @Throws(LiteRtException::class) fun writeFloat(data: FloatArray) {}
    @Throws(LiteRtException::class) fun writeInt8(data: ByteArray) {}
    @Throws(LiteRtException::class) fun readFloat(): FloatArray = FloatArray(0)
    @Throws(LiteRtException::class) fun readInt8(): ByteArray = ByteArray(0)
    override fun destroy() {}
}

class Environment private constructor() : JniHandle() {
    enum class Option { CompilerPluginLibraryDir, DispatchLibraryDir, SystemRuntimeHandle }

    @Throws(LiteRtException::class)
    fun getAvailableAccelerators(): Set<Accelerator> = emptySet()

    override fun destroy() {}

    companion object {
        @Throws(LiteRtException::class)
        @JvmStatic
        fun create(options: Map<Option, String> = mapOf()): Environment = Environment()
    }
}

class CompiledModel private constructor() : JniHandle() {
    data class CpuOptions(
        val numThreads: Int? = null,
        val xnnPackFlags: Int? = null,
        val xnnPackWeightCachePath: String? = null,
    )

    data class GpuOptions(
        val constantTensorSharing: Boolean? = null,
        val infiniteFloatCapping: Boolean? = null,
        val allowSrcQuantizedFcConvOps: Boolean? = null,
        val precision: Precision? = null,
    ) {
        enum class Precision(val value: Int) { DEFAULT(0), FP16(1), FP32(2) }
    }

    class Options(internal val accelerators: Set<Accelerator>) {
        constructor(vararg accelerators: Accelerator) : this(setOf(*accelerators))
        var cpuOptions: CpuOptions? = null
        var gpuOptions: GpuOptions? = null
    }

    @Throws(LiteRtException::class)
    fun createInputBuffer(inputName: String, signature: String = ""): TensorBuffer = TensorBuffer()

    @Throws(LiteRtException::class)
    fun createOutputBuffer(outputName: String, signature: String = ""): TensorBuffer =
        TensorBuffer()

    @Throws(LiteRtException::class)
    fun run(inputs: Map<String, TensorBuffer>, outputs: Map<String, TensorBuffer>,
            signature: String = "") {}

    override fun destroy() {}

    companion object {
        @Throws(LiteRtException::class)
        @JvmStatic
        fun create(assetManager: android.content.res.AssetManager, assetName: String,
                   options: Options = Options(Accelerator.CPU),
                   optionalEnv: Environment? = null): CompiledModel = CompiledModel()
    }
}
'''

ACTIVITY_KTX = '''package androidx.activity

import androidx.lifecycle.ViewModel

// activity-ktx's Kotlin extensions the app uses, bodies left out.
fun ComponentActivity.enableEdgeToEdge() {}

@Suppress("UNCHECKED_CAST")
inline fun <reified VM : ViewModel> ComponentActivity.viewModels(): Lazy<VM> = lazy { null as VM }
'''


def r_class():
    """org.lsid.demo.R from the layout's ids and the strings."""
    layout = (APP / "res" / "layout" / "activity_main.xml").read_text()
    strings = (APP / "res" / "values" / "strings.xml").read_text()
    ids = sorted(set(re.findall(r"@\+id/(\w+)", layout)))
    names = re.findall(r'<string name="(\w+)"', strings)

    def fields(items):
        return " ".join(f"public static final int {n} = {i};" for i, n in enumerate(items))

    return ("package org.lsid.demo;\npublic final class R {\n"
            "  public static final class id { " + fields(ids) + " }\n"
            "  public static final class layout { public static final int activity_main = 1; }\n"
            "  public static final class string { " + fields(names) + " }\n}\n")


def kotlinc_path(given):
    """The given kotlinc, else the cached one, unpacked from npm the first time."""
    if given:
        return given
    found = CACHE / "package" / "bin" / "kotlinc-jvm"
    if not found.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", KOTLIN_COMPILER], cwd=CACHE, check=True,
                       stdout=subprocess.DEVNULL)
        archive = next(CACHE.glob("kotlin-compiler-*.tgz"))
        subprocess.run(["tar", "xzf", archive.name], cwd=CACHE, check=True)
        archive.unlink()
    return str(found)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kotlinc", default=os.environ.get("KOTLINC"))
    args = parser.parse_args(argv)
    kotlinc = kotlinc_path(args.kotlinc)
    app = sorted(str(p) for p in (APP / "java").rglob("*.kt"))
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        sources = work / "stubs"
        for path, text in {**STUBS, "org/lsid/demo/R.java": r_class()}.items():
            (sources / path).parent.mkdir(parents=True, exist_ok=True)
            (sources / path).write_text(text + "\n")
        classes = work / "classes"
        java = [str(p) for p in sources.rglob("*.java")] + [str(p) for p in CORE.rglob("*.java")]
        subprocess.run(["javac", "-nowarn", "-d", str(classes), *java], check=True)
        (work / "LiteRt.kt").write_text(LITERT)
        (work / "ActivityKtx.kt").write_text(ACTIVITY_KTX)
        run = subprocess.run(
            [kotlinc, "-language-version", LANGUAGE_VERSION, "-api-version", LANGUAGE_VERSION,
             "-jvm-target", "11", "-nowarn", "-cp", str(classes), "-d", str(work / "out"),
             str(work / "LiteRt.kt"), str(work / "ActivityKtx.kt"), *app],
            capture_output=True, text=True, env={**os.environ, "JAVA_OPTS": "-Xmx1500m"})
    if run.returncode != 0:
        print("\n".join(line for line in (run.stdout + run.stderr).splitlines()
                        if "is deprecated" not in line))
        print(f"kotlin app: type-check failed ({len(app)} files)")
        return 1
    print(f"kotlin app: type-check passed ({len(app)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
