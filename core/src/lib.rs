//! The mobile core shared by Access Manager and NoKey Resident, exported through UniFFI.
