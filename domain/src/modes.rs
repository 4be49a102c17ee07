//! Lock modes and the one table that says which codes open in which mode.

use serde::{Deserialize, Serialize};

/// The mode a lock is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// Nobody lives there: staff and guest codes open.
    Vacant,
    /// Self-guided tours: tour codes open within their window, staff too.
    Tour,
    /// Someone lives there: only the resident and the master code open.
    Resident,
    /// Work in progress: staff, guests (vendors) and the resident open.
    Maintenance,
}

/// Who or what is trying to open, by class. The channel (BLE phone or keypad) does not
/// change the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeClass {
    /// The lock's master code: opens in every mode.
    Master,
    /// A resident of the lock's unit (their passcode or their phone).
    Resident,
    /// A team member (their passcode or their phone).
    Staff,
    /// A tour code.
    Tour,
    /// A code given by staff to a vendor or guest (permanent, window or one-time).
    Guest,
}

impl LockMode {
    pub const ALL: [LockMode; 4] = [
        LockMode::Vacant,
        LockMode::Tour,
        LockMode::Resident,
        LockMode::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Vacant => "vacant",
            LockMode::Tour => "tour",
            LockMode::Resident => "resident",
            LockMode::Maintenance => "maintenance",
        }
    }

    pub fn parse(s: &str) -> Option<LockMode> {
        LockMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The mode table, written once:
    ///
    /// | class    | vacant | tour | resident | maintenance |
    /// |----------|--------|------|----------|-------------|
    /// | master   | yes    | yes  | yes      | yes         |
    /// | resident | no     | no   | yes      | yes         |
    /// | staff    | yes    | yes  | no       | yes         |
    /// | tour     | no     | yes  | no       | no          |
    /// | guest    | yes    | no   | no       | yes         |
    ///
    /// In `resident` mode the resident's privacy holds: staff to get in switch the lock to
    /// `maintenance` (which needs `change_modes`) or use the master code.
    pub fn admits(self, class: CodeClass) -> bool {
        use CodeClass as C;
        use LockMode as M;
        matches!(
            (self, class),
            (_, C::Master)
                | (M::Resident | M::Maintenance, C::Resident)
                | (M::Vacant | M::Tour | M::Maintenance, C::Staff)
                | (M::Tour, C::Tour)
                | (M::Vacant | M::Maintenance, C::Guest)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_mode_keeps_staff_and_tours_out_but_not_the_master_code() {
        assert!(LockMode::Resident.admits(CodeClass::Master));
        assert!(LockMode::Resident.admits(CodeClass::Resident));
        assert!(!LockMode::Resident.admits(CodeClass::Staff));
        assert!(!LockMode::Resident.admits(CodeClass::Tour));
        assert!(!LockMode::Resident.admits(CodeClass::Guest));
    }

    #[test]
    fn tour_codes_open_only_in_tour_mode() {
        for m in LockMode::ALL {
            assert_eq!(m.admits(CodeClass::Tour), m == LockMode::Tour, "{m:?}");
            assert!(m.admits(CodeClass::Master));
            assert_eq!(LockMode::parse(m.as_str()), Some(m));
        }
    }
}
