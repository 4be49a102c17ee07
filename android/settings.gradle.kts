// Access Manager and NoKey Resident: two thin Compose apps over access-kit, which wraps the
// Rust core (access-core) through its generated UniFFI bindings. See README.md.
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

rootProject.name = "lock-access"
include(":access-kit", ":app-logic", ":access-ui", ":access-manager", ":nokey-resident")
