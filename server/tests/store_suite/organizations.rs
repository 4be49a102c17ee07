//! Organizations as the operator lists them: oldest first, with their active users.

use access_server::store::{NewOrganization, Store};
use time::{Duration, OffsetDateTime};

use crate::user_page::id;

fn org(n: u128, name: &str, email: &str, now: OffsetDateTime) -> NewOrganization {
    NewOrganization {
        id: id(n),
        name: name.into(),
        signing_key_pkcs8: vec![1; 8],
        public_key: vec![2; 8],
        admin_id: id(n + 100),
        admin_email: email.into(),
        admin_name: "Boss".into(),
        admin_password_hash: "x".into(),
        now,
    }
}

pub fn listed_oldest_first_with_their_users(store: &dyn Store) {
    assert!(store.list_organizations().unwrap().is_empty());
    let t = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    store
        .create_organization(&org(2, "Birch", "b@birch.example", t + Duration::hours(1)))
        .unwrap();
    store
        .create_organization(&org(1, "Alder", "a@alder.example", t))
        .unwrap();
    let listed = store.list_organizations().unwrap();
    let names: Vec<&str> = listed.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Alder", "Birch"]);
    assert_eq!(listed[0].id, id(1));
    assert_eq!(listed[0].created_at, t);
    assert!(listed.iter().all(|o| o.active_users == 1));
    // An administrator's email signs in to one organization only.
    assert!(
        store
            .create_organization(&org(3, "Cedar", "A@alder.example", t))
            .is_err()
    );
    assert_eq!(store.list_organizations().unwrap().len(), 2);
}
