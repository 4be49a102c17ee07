//! User types, statuses and the app each user type is invited to.

use serde::{Deserialize, Serialize};

/// Who a user is to the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    TeamMember,
    Resident,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::TeamMember => "team_member",
            UserType::Resident => "resident",
        }
    }

    pub fn parse(s: &str) -> Option<UserType> {
        match s {
            "team_member" => Some(UserType::TeamMember),
            "resident" => Some(UserType::Resident),
            _ => None,
        }
    }

    /// The app this user type is invited to; nobody picks it by hand.
    pub fn app(self) -> App {
        match self {
            UserType::TeamMember => App::AccessManager,
            UserType::Resident => App::NokeyResident,
        }
    }
}

/// Where a user stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Pending,
    Active,
    Revoked,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Pending => "pending",
            UserStatus::Active => "active",
            UserStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<UserStatus> {
        match s {
            "pending" => Some(UserStatus::Pending),
            "active" => Some(UserStatus::Active),
            "revoked" => Some(UserStatus::Revoked),
            _ => None,
        }
    }
}

/// The two mobile apps built on the one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum App {
    /// For team members.
    AccessManager,
    /// For residents.
    NokeyResident,
}

impl App {
    /// The product name shown to people.
    pub fn display_name(self) -> &'static str {
        match self {
            App::AccessManager => "Access Manager",
            App::NokeyResident => "NoKey Resident",
        }
    }

    /// The app's identifier on both stores (Android application id, iOS bundle id).
    pub fn package_id(self) -> &'static str {
        match self {
            App::AccessManager => "com.lockaccess.manager",
            App::NokeyResident => "com.lockaccess.resident",
        }
    }

    /// The app's page on Google Play.
    pub fn play_store_url(self) -> String {
        format!(
            "https://play.google.com/store/apps/details?id={}",
            self.package_id()
        )
    }

    /// The app on the App Store (its search page: the listing's numeric id is Apple's).
    pub fn app_store_url(self) -> String {
        format!(
            "https://apps.apple.com/search?term={}",
            self.display_name().replace(' ', "%20")
        )
    }

    /// The path of this app's invitation links (`/invite/access-manager?token=...`): one per
    /// app, so each phone app claims only its own links.
    pub fn invite_path(self) -> &'static str {
        match self {
            App::AccessManager => "/invite/access-manager",
            App::NokeyResident => "/invite/nokey-resident",
        }
    }

    /// The user type this app serves.
    pub fn user_type(self) -> UserType {
        match self {
            App::AccessManager => UserType::TeamMember,
            App::NokeyResident => UserType::Resident,
        }
    }

    /// The message shown when an account signs in to the wrong app.
    pub fn wrong_app_message(self, account: UserType) -> String {
        format!(
            "This account is a {} account: please use the {} app instead of {}.",
            match account {
                UserType::TeamMember => "team member",
                UserType::Resident => "resident",
            },
            account.app().display_name(),
            self.display_name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_type_gets_its_own_app() {
        assert_eq!(UserType::TeamMember.app(), App::AccessManager);
        assert_eq!(UserType::Resident.app(), App::NokeyResident);
        for t in [UserType::TeamMember, UserType::Resident] {
            assert_eq!(t.app().user_type(), t);
            assert_eq!(UserType::parse(t.as_str()), Some(t));
        }
        let msg = App::AccessManager.wrong_app_message(UserType::Resident);
        assert!(msg.contains("NoKey Resident"), "{msg}");
    }
}
