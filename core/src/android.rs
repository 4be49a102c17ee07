//! The Android apps' one JNI entry point: btleplug's Android backend drives the radio
//! through its Java classes (`com.nonpolynomial.btleplug.android.impl`, packaged by
//! access-kit's Gradle build), so it must be handed the JVM before the first Bluetooth call.
//! The app calls `AndroidBluetooth.init(context)` (access-kit) once, from the main thread,
//! before opening the kit.
//!
//! Built on every system but Apple's, so the JVM tests on Linux call the very symbol the
//! app calls (`AndroidBluetoothTest`); there it answers that Bluetooth goes through the
//! platform's own stack instead.

use jni::EnvUnowned;
use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};

/// Why the JVM could not be handed to btleplug; thrown to Kotlin as a `RuntimeException`.
#[derive(Debug, thiserror::Error)]
enum InitError {
    #[error(transparent)]
    Jni(#[from] jni::errors::Error),
    #[error("Bluetooth: {0}")]
    Bluetooth(String),
}

/// The message of the non-Android answer, which the JVM test expects.
pub const NOT_ANDROID: &str = "btleplug needs the JVM only on Android: here it talks to the system's Bluetooth stack directly";

#[cfg(target_os = "android")]
fn init(env: &mut jni::Env<'_>) -> Result<(), InitError> {
    btleplug::platform::init(env).map_err(|e| InitError::Bluetooth(e.to_string()))
}

#[cfg(not(target_os = "android"))]
fn init(_env: &mut jni::Env<'_>) -> Result<(), InitError> {
    Err(InitError::Bluetooth(NOT_ANDROID.into()))
}

/// `com.lockaccess.kit.AndroidBluetooth.nativeInit(context)`: a failure is thrown as a
/// `RuntimeException` with its reason.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_lockaccess_kit_AndroidBluetooth_nativeInit<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    _context: JObject<'caller>,
) {
    env.with_env(init).resolve::<ThrowRuntimeExAndDefault>()
}
