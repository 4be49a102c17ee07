//! The BLE lock protocol: GATT layout, framing, credentials, sessions and pairing.
