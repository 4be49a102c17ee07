//! `Store::user_page` in each store's SQL: every sort both ways over rows with equal keys,
//! filters and search, followed page by page, against the order worked out here; and, with
//! both stores at hand, the very same pages and cursors on both.

use std::sync::atomic::{AtomicU32, Ordering};

use access_domain::{
    Access, UserType,
    api::{AccountStatus, Channel},
};
use access_server::store::user_list::{Cursor, UserQuery, UserSort};
use access_server::store::{
    NewInvitation, NewInvitationToken, NewMessage, NewOrganization, NewRegistration, NewSession,
    Store, UserRecord, VerifyAttempt, VerifyOutcome,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Ids spread over the whole range, in no relation to the order the rows are made in.
pub(crate) fn id(n: u128) -> Uuid {
    Uuid::from_u128(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
}

/// A distinct 32-byte value per call (token and code hashes must not collide).
pub(crate) fn hash() -> [u8; 32] {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let mut h = [7; 32];
    h[..4].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    h
}

/// Whole seconds: what both stores keep of a time alike.
pub(crate) fn at(second: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_764_000_000 + second).unwrap()
}

pub(crate) fn message(org: Uuid, n: u128, to: &str, when: OffsetDateTime) -> NewMessage {
    NewMessage {
        id: id(1000 + n),
        org_id: org,
        channel: Channel::Email,
        to: to.into(),
        subject: None,
        body: "hello".into(),
        created_at: when,
    }
}

/// A user to make: id number, type, invited email, second of the invitation, the name and
/// email of a completed registration, and whether revoked after.
type Seed = (
    u128,
    UserType,
    &'static str,
    i64,
    Option<(&'static str, &'static str)>,
    bool,
);

/// Many equal keys (four invited in one second, four in the next; types, statuses and
/// access types repeat; names equal but for case), names outside ASCII, emails in any case,
/// and `%` and `_` in a name. (The stores keep no username for invited users.)
fn seeds() -> Vec<Seed> {
    use UserType::{Resident, TeamMember};
    vec![
        (11, TeamMember, "crew1@birch.example", 10, None, false),
        (12, TeamMember, "Crew2@birch.example", 10, None, false),
        (13, TeamMember, "crew3@birch.example", 10, None, false),
        (14, TeamMember, "crew4@birch.example", 10, None, false),
        (21, Resident, "t1@birch.example", 11, None, false),
        (22, Resident, "T2@birch.example", 11, None, false),
        (23, Resident, "t3@birch.example", 11, None, false),
        (24, Resident, "t4@birch.example", 11, None, false),
        (
            31,
            Resident,
            "ada@birch.example",
            20,
            Some(("ada", "Ada.Home@Mail.example")),
            false,
        ),
        (
            32,
            TeamMember,
            "ada2@birch.example",
            21,
            Some(("Ada", "ada.work@mail.example")),
            false,
        ),
        (
            33,
            Resident,
            "emile@birch.example",
            20,
            Some(("Émile", "emile@mail.example")),
            false,
        ),
        (
            34,
            TeamMember,
            "zoe@birch.example",
            21,
            Some(("zoë", "ZOE@mail.example")),
            false,
        ),
        (
            35,
            Resident,
            "yan@birch.example",
            20,
            Some(("Émile", "yan@mail.example")),
            false,
        ),
        (
            36,
            TeamMember,
            "bob@birch.example",
            21,
            Some(("Bob_1 50%", "bob@mail.example")),
            false,
        ),
        (41, Resident, "gone@birch.example", 11, None, true),
        (
            42,
            TeamMember,
            "left@birch.example",
            30,
            Some(("Lee", "lee@mail.example")),
            true,
        ),
    ]
}

const ORG: u128 = 1;
const ADMIN: u128 = 2;

/// The same organization, users, times and ids in `store`.
pub(crate) fn fill(store: &dyn Store) -> Uuid {
    let org = id(ORG);
    store
        .create_organization(&NewOrganization {
            id: org,
            name: "Birch".into(),
            signing_key_pkcs8: vec![1; 8],
            public_key: vec![2; 8],
            admin_id: id(ADMIN),
            admin_email: "boss@birch.example".into(),
            admin_name: "Boss".into(),
            admin_password_hash: "x".into(),
            now: at(0),
        })
        .unwrap();
    for (i, (n, user_type, invited, second, register, revoke)) in seeds().into_iter().enumerate() {
        let user = id(n);
        let sent = at(second);
        let invitation = id(100 + n);
        let access = match user_type {
            UserType::TeamMember => Access::AllLocks,
            UserType::Resident => Access::Units { unit_ids: vec![] },
        };
        store
            .create_invitation(
                &NewInvitation {
                    org_id: org,
                    user_id: user,
                    user_type,
                    invited_email: invited.into(),
                    username: None,
                    permissions: vec![],
                    access,
                    invited_by: id(ADMIN),
                    token: NewInvitationToken {
                        id: invitation,
                        token_hash: hash(),
                        sent_at: sent,
                        expires_at: sent + Duration::days(7),
                    },
                    invited_phone: None,
                    period: Default::default(),
                },
                &message(org, n, invited, sent),
            )
            .unwrap();
        if let Some((name, email)) = register {
            let code = hash();
            let registration = id(200 + n);
            store
                .create_registration(
                    &NewRegistration {
                        id: registration,
                        invitation_id: invitation,
                        user_id: user,
                        email: email.into(),
                        phone: format!("+1555010{i:04}"),
                        name: name.into(),
                        password_hash: "x".into(),
                        code_hash: code,
                        created_at: sent,
                        code_expires_at: sent + Duration::minutes(10),
                        username: format!("user{n}"),
                    },
                    &message(org, 300 + n, "+15550100000", sent),
                )
                .unwrap();
            let outcome = store
                .verify_registration(&VerifyAttempt {
                    registration_id: registration,
                    code_hash: code,
                    max_attempts: 5,
                    session: NewSession {
                        token_hash: hash(),
                        user_id: user,
                        created_at: sent,
                        expires_at: sent + Duration::days(1),
                    },
                    now: sent,
                })
                .unwrap();
            assert!(matches!(outcome, VerifyOutcome::Verified(_)), "{outcome:?}");
        }
        if revoke {
            store.revoke_user(org, user, sent).unwrap();
        }
    }
    org
}

/// The table's rules, written out: a key per sort (ASCII-only lower case, as both stores
/// fold), byte order, ties by id in the same direction.
fn expected(all: &[UserRecord], q: &UserQuery) -> Vec<(Uuid, String)> {
    let search = q.q.as_deref().map(|s| s.trim().to_ascii_lowercase());
    let mut rows: Vec<(Uuid, String)> = all
        .iter()
        .filter(|u| q.user_type.is_none_or(|t| t == u.user_type))
        .filter(|u| {
            q.status
                .is_none_or(|s| s == AccountStatus::of(u.status, u.invitation_expires_at, q.at()))
        })
        .filter(|u| {
            search.as_deref().is_none_or(|s| {
                [&u.name, &u.username, &u.invited_email, &u.registered_email]
                    .into_iter()
                    .flatten()
                    .any(|v| v.to_ascii_lowercase().contains(s))
            })
        })
        .map(|u| (u.id, key(u, q)))
        .collect();
    rows.sort_by(|a, b| {
        let o = a.1.cmp(&b.1).then(a.0.cmp(&b.0));
        if q.descending { o.reverse() } else { o }
    });
    rows
}

fn key(u: &UserRecord, q: &UserQuery) -> String {
    match q.sort {
        UserSort::Name => u
            .name
            .as_ref()
            .or(u.username.as_ref())
            .or(u.invited_email.as_ref())
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default(),
        UserSort::Type => u.user_type.as_str().into(),
        UserSort::Status => u.status.as_str().into(),
        UserSort::AccessType => match u.access {
            Access::AllLocks => "all_locks".into(),
            Access::Units { .. } => "units".into(),
        },
        UserSort::Email => match (&u.registered_email, q.descending) {
            (Some(e), false) => format!("0{}", e.to_ascii_lowercase()),
            (None, false) => "1".into(),
            (Some(e), true) => format!("1{}", e.to_ascii_lowercase()),
            (None, true) => "0".into(),
        },
        UserSort::InvitedAt => format!("{:020}", u.invited_at.unix_timestamp()),
    }
}

/// One walk through the pages: (ids, next cursor) per page, and the totals.
pub(crate) type Walk = Vec<(Vec<Uuid>, Option<Cursor>, u64)>;

fn walk(store: &dyn Store, org: Uuid, q: &UserQuery) -> Walk {
    let mut q = q.clone();
    let mut pages = Walk::new();
    for _ in 0..50 {
        let page = store.user_page(org, &q).unwrap();
        assert!(
            page.users.len() <= q.limit as usize,
            "{q:?}: over the limit"
        );
        let ids = page.users.iter().map(|u| u.id).collect();
        pages.push((ids, page.next.clone(), page.total));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return pages,
        }
    }
    panic!("{q:?}: pagination does not end");
}

fn queries() -> Vec<UserQuery> {
    let sorts = [
        UserSort::Name,
        UserSort::Type,
        UserSort::Status,
        UserSort::AccessType,
        UserSort::Email,
        UserSort::InvitedAt,
    ];
    let mut out = Vec::new();
    for sort in sorts {
        for descending in [false, true] {
            for limit in [1, 3, 200] {
                out.push(UserQuery {
                    sort,
                    descending,
                    limit,
                    ..UserQuery::default()
                });
            }
        }
    }
    let filtered = [
        (Some(UserType::Resident), None, None),
        (None, Some(AccountStatus::Pending), None),
        (
            Some(UserType::TeamMember),
            Some(AccountStatus::Active),
            None,
        ),
        (None, None, Some("ADA")),
        (None, None, Some("mail.EXAMPLE")),
        (None, None, Some("%")),
        (None, None, Some("50%")),
        (None, None, Some("b_1")),
        (None, None, Some("e_1")),
        (None, None, Some("émile")),
        // Would match across ada's fields if the separator of the SQLite search got in.
        (None, None, Some("ada\u{1f}\u{1f}ada")),
        (None, None, Some("Émile")),
        (None, Some(AccountStatus::Revoked), Some("birch")),
    ];
    for (user_type, status, q) in filtered {
        for sort in sorts {
            out.push(UserQuery {
                user_type,
                status,
                q: q.map(Into::into),
                sort,
                descending: sort == UserSort::Name,
                limit: 2,
                ..UserQuery::default()
            });
        }
    }
    out
}

/// Checks one store against the rules; returns its walks for comparing stores.
pub(crate) fn check(store: &dyn Store, org: Uuid) -> Vec<Walk> {
    let all = store
        .user_page(
            org,
            &UserQuery {
                limit: 200,
                ..UserQuery::default()
            },
        )
        .unwrap()
        .users;
    assert_eq!(all.len(), 1 + seeds().len(), "{}", store.backend());
    let mut walks = Vec::new();
    for q in queries() {
        let want = expected(&all, &q);
        let pages = walk(store, org, &q);
        let got: Vec<Uuid> = pages.iter().flat_map(|p| p.0.clone()).collect();
        let want_ids: Vec<Uuid> = want.iter().map(|w| w.0).collect();
        assert_eq!(got, want_ids, "{}: {q:?}", store.backend());
        for (i, (ids, next, total)) in pages.iter().enumerate() {
            assert_eq!(*total, want.len() as u64, "{}: {q:?}", store.backend());
            // A cursor names the last row of its page, with that row's key.
            let end = pages[..=i].iter().map(|p| p.0.len()).sum::<usize>();
            match next {
                Some(c) => {
                    assert_eq!(Some(&c.id), ids.last());
                    assert_eq!(c.key, want[end - 1].1, "{}: {q:?}", store.backend());
                }
                None => assert_eq!(end, want.len(), "{}: {q:?}", store.backend()),
            }
        }
        walks.push(pages);
    }
    // `%` and `_` are characters to find, not wildcards (`e_1` would find `crew1`).
    let found = |q: &str| {
        let q = UserQuery {
            q: Some(q.into()),
            ..UserQuery::default()
        };
        expected(&all, &q).len()
    };
    assert_eq!(
        [
            found("ADA"),
            found("50%"),
            found("%"),
            found("b_1"),
            found("e_1"),
            found("Émile")
        ],
        [2, 1, 1, 1, 0, 2]
    );
    walks
}
