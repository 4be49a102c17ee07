//! GATT layout and advertising data.
//!
//! One primary service with two characteristics: the phone writes requests to
//! [`WRITE_CHAR_UUID`] (write with response) and the lock answers by notifications on
//! [`NOTIFY_CHAR_UUID`]. The lock advertises [`SERVICE_UUID`] with service data that tells a
//! factory-fresh lock from a paired one, so a phone can list both without connecting.

/// The lock service.
pub const SERVICE_UUID: u128 = 0x6e4b_0001_8c3a_4f6e_9a2d_5f1c_0b7e_a11c;
/// Phone to lock (write with response).
pub const WRITE_CHAR_UUID: u128 = 0x6e4b_0002_8c3a_4f6e_9a2d_5f1c_0b7e_a11c;
/// Lock to phone (notify).
pub const NOTIFY_CHAR_UUID: u128 = 0x6e4b_0003_8c3a_4f6e_9a2d_5f1c_0b7e_a11c;

/// Version of the advertising data layout.
pub const ADVERTISEMENT_VERSION: u8 = 1;

/// What a lock says about itself in its advertising service data (10 bytes, fits a legacy
/// advertisement beside the 128-bit service UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertisement {
    /// Whether the lock has been paired to an organization.
    pub paired: bool,
    /// The first 8 bytes of the lock's identity: its id once paired, a factory serial before.
    pub lock_tag: [u8; 8],
}

impl Advertisement {
    /// Encoded length in bytes.
    pub const LEN: usize = 10;

    /// Encodes the service data: version, flags, tag.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = ADVERTISEMENT_VERSION;
        out[1] = u8::from(self.paired);
        out[2..].copy_from_slice(&self.lock_tag);
        out
    }

    /// Decodes service data; `None` for anything that is not a version-1 lock advertisement.
    ///
    /// ```
    /// use lock_protocol::gatt::Advertisement;
    /// let ad = Advertisement { paired: true, lock_tag: *b"LOCK0001" };
    /// assert_eq!(Advertisement::decode(&ad.encode()), Some(ad));
    /// assert_eq!(Advertisement::decode(&[9, 9]), None);
    /// ```
    pub fn decode(bytes: &[u8]) -> Option<Advertisement> {
        if bytes.len() != Self::LEN || bytes[0] != ADVERTISEMENT_VERSION || bytes[1] > 1 {
            return None;
        }
        let mut lock_tag = [0u8; 8];
        lock_tag.copy_from_slice(&bytes[2..]);
        Some(Advertisement {
            paired: bytes[1] == 1,
            lock_tag,
        })
    }
}
