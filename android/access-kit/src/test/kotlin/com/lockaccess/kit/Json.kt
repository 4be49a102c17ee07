package com.lockaccess.kit

/**
 * A small JSON reader and writer for the tests' admin calls (the JVM has none built in and
 * the tests should not pull a library for it). Objects are maps, arrays lists, numbers
 * doubles or longs.
 */
object Json {
    fun parse(text: String): Any? = Parser(text).run { val v = value(); ws(); require(i == s.length) { "trailing data at $i" }; v }

    fun write(v: Any?): String = buildString { emit(v) }

    private fun StringBuilder.emit(v: Any?) {
        when (v) {
            null -> append("null")
            is String -> {
                append('"')
                for (c in v) {
                    when {
                        c == '"' -> append("\\\"")
                        c == '\\' -> append("\\\\")
                        c < ' ' -> append(String.format("\\u%04x", c.code))
                        else -> append(c)
                    }
                }
                append('"')
            }
            is Boolean, is Number -> append(v.toString())
            is Map<*, *> -> {
                append('{')
                v.entries.forEachIndexed { n, (k, x) -> if (n > 0) append(','); emit(k.toString()); append(':'); emit(x) }
                append('}')
            }
            is Iterable<*> -> {
                append('[')
                v.forEachIndexed { n, x -> if (n > 0) append(','); emit(x) }
                append(']')
            }
            else -> error("cannot write ${v::class} as JSON")
        }
    }

    private class Parser(val s: String) {
        var i = 0

        fun ws() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            ws()
            require(i < s.length) { "unexpected end" }
            return when (val c = s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> lit("true", true)
                'f' -> lit("false", false)
                'n' -> lit("null", null)
                else -> if (c == '-' || c.isDigit()) num() else error("unexpected '$c' at $i")
            }
        }

        fun lit(word: String, v: Any?): Any? {
            require(s.startsWith(word, i)) { "bad literal at $i" }
            i += word.length
            return v
        }

        fun num(): Number {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            val t = s.substring(start, i)
            return t.toLongOrNull() ?: t.toDouble()
        }

        fun str(): String {
            i++
            val b = StringBuilder()
            while (true) {
                require(i < s.length) { "unterminated string" }
                val c = s[i++]
                when (c) {
                    '"' -> return b.toString()
                    '\\' -> {
                        when (val e = s[i++]) {
                            'n' -> b.append('\n'); 't' -> b.append('\t'); 'r' -> b.append('\r')
                            'b' -> b.append('\b'); 'f' -> b.append('\u000c')
                            'u' -> { b.append(s.substring(i, i + 4).toInt(16).toChar()); i += 4 }
                            else -> b.append(e)
                        }
                    }
                    else -> b.append(c)
                }
            }
        }

        fun obj(): Map<String, Any?> {
            i++
            val m = LinkedHashMap<String, Any?>()
            ws()
            if (s[i] == '}') { i++; return m }
            while (true) {
                ws()
                val k = str()
                ws(); require(s[i] == ':') { "expected ':' at $i" }; i++
                m[k] = value()
                ws()
                when (s[i++]) {
                    ',' -> continue
                    '}' -> return m
                    else -> error("expected ',' or '}' at ${i - 1}")
                }
            }
        }

        fun arr(): List<Any?> {
            i++
            val l = ArrayList<Any?>()
            ws()
            if (s[i] == ']') { i++; return l }
            while (true) {
                l.add(value())
                ws()
                when (s[i++]) {
                    ',' -> continue
                    ']' -> return l
                    else -> error("expected ',' or ']' at ${i - 1}")
                }
            }
        }
    }
}

/** `obj["a"]["b"]`-style access for the tests. */
@Suppress("UNCHECKED_CAST")
operator fun Any?.get(key: String): Any? = (this as? Map<String, Any?>)?.get(key)

@Suppress("UNCHECKED_CAST")
fun Any?.items(): List<Any?> = (this as? List<Any?>) ?: emptyList()
