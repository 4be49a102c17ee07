package com.lockaccess.kit.android

import android.util.Log
import com.lockaccess.core.CoreLogger
import com.lockaccess.core.LogLevel

/** Core logs in Logcat under [tag], with the Rust module in front. Android only. */
class LogcatLogger(private val tag: String = "AccessCore") : CoreLogger {
    override fun log(level: LogLevel, target: String, message: String) {
        val line = "$target: $message"
        when (level) {
            LogLevel.ERROR -> Log.e(tag, line)
            LogLevel.WARN -> Log.w(tag, line)
            LogLevel.INFO -> Log.i(tag, line)
            LogLevel.DEBUG, LogLevel.TRACE -> Log.d(tag, line)
        }
    }
}
