//! The BLE lock protocol shared by the mobile core, the virtual lock and the server.

pub mod gatt;
