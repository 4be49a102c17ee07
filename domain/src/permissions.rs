//! The permissions a team member can hold, named as the API and the article name them: the
//! six that apply on the server and in the app, and the right to manage lock access.

use serde::{Deserialize, Serialize};

/// One permission of a team member. The six lock permissions apply on the server and in the
/// app; [`Permission::ManageAccess`] is the right to invite and manage users (see
/// [`crate::delegation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    GiveAccess,
    ResetCodes,
    ViewLogs,
    RenameLocks,
    ChangeModes,
    ViewMasterCode,
    ManageAccess,
}

impl Permission {
    /// Every permission: the six lock permissions in the order the article lists them, then
    /// the right to manage lock access.
    pub const ALL: [Permission; 7] = [
        Permission::GiveAccess,
        Permission::ResetCodes,
        Permission::ViewLogs,
        Permission::RenameLocks,
        Permission::ChangeModes,
        Permission::ViewMasterCode,
        Permission::ManageAccess,
    ];

    /// The wire name, e.g. `give_access`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::GiveAccess => "give_access",
            Permission::ResetCodes => "reset_codes",
            Permission::ViewLogs => "view_logs",
            Permission::RenameLocks => "rename_locks",
            Permission::ChangeModes => "change_modes",
            Permission::ViewMasterCode => "view_master_code",
            Permission::ManageAccess => "manage_access",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The checkbox label from the article.
    pub fn label(self) -> &'static str {
        match self {
            Permission::GiveAccess => "Can give access to the property",
            Permission::ResetCodes => "Can reset access codes and locks",
            Permission::ViewLogs => "Can view access logs",
            Permission::RenameLocks => "Can rename locks",
            Permission::ChangeModes => "Can change lock modes",
            Permission::ViewMasterCode => "Can view master code",
            Permission::ManageAccess => "Can manage lock access",
        }
    }

    /// The description from the article.
    pub fn description(self) -> &'static str {
        match self {
            Permission::GiveAccess => "Provide codes to any property",
            Permission::ResetCodes => "Allows resetting codes or locks within the app.",
            Permission::ViewLogs => "Allows viewing activity history for locks.",
            Permission::RenameLocks => "Allows editing the lock alias/name.",
            Permission::ChangeModes => {
                "Allows switching lock modes (for example, Tour to Resident)."
            }
            Permission::ViewMasterCode => "Grants visibility into the master access code.",
            Permission::ManageAccess => {
                "Invite users and change or revoke their access, within your own units and \
                 permissions."
            }
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_parse() {
        for p in Permission::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        assert_eq!(Permission::parse("unlock"), None);
    }
}
