package com.lockaccess.kit

import com.lockaccess.core.App
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.UUID

/**
 * The real `access-server` the suite started (scripts/lib/shells.sh), reached over HTTP as
 * the administrator would, plus its supervisor to stop and restart it.
 */
object TestServer {
    private fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set: run the tests with scripts/test kotlin")

    val url: String by lazy { env("ACCESS_TEST_SERVER_URL") }
    private val controlUrl: String by lazy { env("ACCESS_TEST_CONTROL_URL") }
    private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    /** The administrator the server created on first start. */
    val admin: Admin by lazy { Admin.login(env("ACCESS_TEST_ADMIN_EMAIL"), env("ACCESS_TEST_ADMIN_PASSWORD")) }

    fun call(method: String, url: String, token: String?, body: Any?): Pair<Int, Any?> {
        val b = HttpRequest.newBuilder(URI(url)).timeout(Duration.ofSeconds(30))
        token?.let { b.header("Authorization", "Bearer $it") }
        val publisher = if (body == null) HttpRequest.BodyPublishers.noBody()
        else HttpRequest.BodyPublishers.ofString(Json.write(body)).also { b.header("Content-Type", "application/json") }
        b.method(method, publisher)
        val r = http.send(b.build(), HttpResponse.BodyHandlers.ofString())
        val parsed = r.body().takeIf { it.isNotBlank() }?.let { runCatching { Json.parse(it) }.getOrNull() }
        return r.statusCode() to parsed
    }

    /** Stops the server (the supervisor answers once it is down). */
    fun stop() = control("/stop")

    /** Starts it again on the same port and data directory; returns once /healthz answers. */
    fun start() = control("/start")

    /** Ends every invitation's validity now, as if its days had passed. */
    fun expireInvitations() = control("/expire-invitations")

    private fun control(path: String) {
        val (status, body) = call("POST", controlUrl + path, null, emptyMap<String, Any>())
        check(status == 200) { "server control $path: $status $body" }
    }

    /** A fresh directory for one device's cache. */
    fun deviceDir(): String = Files.createTempDirectory("access-kit-device").toString()

    /** A unique email per test run, so tests share one server without colliding. */
    fun email(who: String) = "$who-${UUID.randomUUID().toString().take(8)}@example.test"

    /** A phone that follows the `+1` rule, unique enough per test run. */
    fun phone(): String = "+1555" + (2_000_000 + (Math.random() * 7_999_999).toInt()).toString()

    /** A username for a test user, made from its email (unique as the emails are). */
    fun username(email: String): String =
        email.lowercase().map { if (it in 'a'..'z' || it in '0'..'9' || it in "._-") it else '.' }
            .joinToString("").takeLast(32)

    /** Where nothing listens: a kit pointed here fails any request with [AccessKitError.Offline]. */
    const val NOWHERE = "http://127.0.0.1:9"
}

/** The administrator over the REST API, as the Manage Access page does it. */
class Admin private constructor(private val token: String) {
    companion object {
        fun login(email: String, password: String): Admin {
            val (status, body) = TestServer.call("POST", "${TestServer.url}/api/v1/sessions", null,
                mapOf("email" to email, "password" to password))
            check(status in 200..299) { "admin login: $status $body" }
            return Admin(body["token"] as String)
        }
    }

    fun request(method: String, path: String, body: Any? = null): Any? {
        val (status, v) = TestServer.call(method, "${TestServer.url}$path", token, body)
        check(status in 200..299) { "$method $path: $status $v" }
        return v
    }

    fun post(path: String, body: Any) = request("POST", path, body)
    fun get(path: String) = request("GET", path)

    fun property(name: String) = post("/api/v1/properties", mapOf("name" to name))["id"] as String
    fun unit(property: String, name: String) =
        post("/api/v1/properties/$property/units", mapOf("name" to name))["id"] as String
    fun lock(unit: String, name: String) =
        post("/api/v1/locks", mapOf("unit_id" to unit, "name" to name))["id"] as String

    /** Invites; returns the new user's id. */
    fun invite(userType: String, email: String, permissions: List<String>, access: Map<String, Any>): String =
        post("/api/v1/invitations", mapOf("user_type" to userType, "email" to email,
            "permissions" to permissions, "access" to access))["user_id"] as String

    private fun outbox(): List<Any?> = get("/api/v1/outbox?limit=1000")["items"].items()

    /** Every message of [channel] ("email" or "sms") to [to], newest first. */
    fun messagesTo(channel: String, to: String): List<Any?> =
        outbox().filter { it["channel"] == channel && it["to"] == to }

    /**
     * The link of the newest password reset mail to [email] and the code of the reset SMS
     * to [phone] (E.164) that came with it, waiting a little for both.
     */
    fun passwordReset(email: String, phone: String): Pair<String, String> {
        repeat(100) {
            val mail = messagesTo("email", email).firstOrNull()
            val sms = messagesTo("sms", phone).firstOrNull()
            val body = mail?.get("body") as String?
            val text = sms?.get("body") as String?
            if (body != null && body.contains("/reset-password?token=") && text != null &&
                text.contains("password reset code")
            ) {
                val link = Regex("https?://\\S*/reset-password\\?token=\\S+").find(body)!!.value.trimEnd('.', ')', '>')
                val code = Regex("\\d{6}").find(text)?.value ?: error("no code in: $text")
                return link to code
            }
            Thread.sleep(50)
        }
        error("no password reset mail to $email with an SMS to $phone in the outbox")
    }

    /** The invitation link in the newest mail to [email]. */
    fun invitationLink(email: String): String {
        val mail = outbox().firstOrNull { it["channel"] == "email" && it["to"] == email }
            ?: error("no mail to $email in the outbox")
        val body = mail["body"] as String
        return Regex("https?://\\S*token=\\S+").find(body)?.value?.trimEnd('.', ')', '>') ?: error("no link in: $body")
    }

    /** The 6-digit code of the newest SMS to [phone] (E.164). */
    fun smsCode(phone: String): String {
        val sms = outbox().firstOrNull { it["channel"] == "sms" && it["to"] == phone }
            ?: error("no SMS to $phone in the outbox")
        return Regex("\\d{6}").find(sms["body"] as String)?.value ?: error("no code in: ${sms["body"]}")
    }

    fun setPermissions(user: String, permissions: List<String>) =
        request("PUT", "/api/v1/users/$user/permissions", mapOf("permissions" to permissions))

    fun revoke(user: String) = post("/api/v1/users/$user/revoke", emptyMap<String, Any>())

    fun lockInfo(lock: String) = get("/api/v1/locks/$lock")
}

/** A property with two units and three locks, named uniquely for one test. */
class Site(admin: Admin, tag: String) {
    val property = admin.property("Oakwood $tag")
    val unitA = admin.unit(property, "Unit 4B")
    val unitB = admin.unit(property, "Unit 12")
    val frontDoor = admin.lock(unitA, "Front Door $tag")
    val patio = admin.lock(unitA, "Patio $tag")
    val garage = admin.lock(unitB, "Garage $tag")
}

fun units(vararg ids: String) = mapOf("type" to "units", "unit_ids" to ids.toList())
val allLocks = mapOf("type" to "all_locks")

/**
 * Invites [email] and registers through [kit] with [phone], the SMS code from the outbox and the
 * username made from the email; returns the user's id.
 */
suspend fun onboard(
    kit: AccessKit,
    userType: String,
    email: String,
    permissions: List<String>,
    access: Map<String, Any>,
    phone: String = TestServer.phone(),
): String {
    val admin = TestServer.admin
    val user = admin.invite(userType, email, permissions, access)
    val registration = kit.register(admin.invitationLink(email), email, phone, "pw-123456789", "Pat Doe",
        TestServer.username(email))
    kit.verifySms(registration, admin.smsCode(phone))
    return user
}

fun appFor(userType: String) = if (userType == "resident") App.NOKEY_RESIDENT else App.ACCESS_MANAGER
