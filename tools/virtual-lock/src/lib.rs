//! A virtual lock: the lock side of the protocol as a BLE peripheral, for tests.
