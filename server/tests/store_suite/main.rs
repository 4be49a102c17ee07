//! One suite for every store backend, as matrix-sdk's `statestore_integration_tests!`:
//! [`store_suite!`] makes each case a test on a fresh store of one backend. SQLite runs
//! always; PostgreSQL when `ACCESS_TEST_DATABASE_URL` is set, which `scripts/test
//! server_postgres` does (without it the PostgreSQL cases say so and pass).

mod limits;
mod organizations;
mod registration;
mod user_page;

use access_server::store::Store;
use access_server::store::postgres::{PostgresStore, test_database_url};
use access_server::store::sqlite::SqliteStore;
use tempfile::TempDir;

/// A fresh store and the directory that must outlive it.
type Fresh = (TempDir, Box<dyn Store>);

fn sqlite() -> Option<Fresh> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    Some((dir, Box::new(store)))
}

fn postgres() -> Option<Fresh> {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = test_database_url(dir.path()) else {
        eprintln!("ACCESS_TEST_DATABASE_URL is not set: PostgreSQL case skipped");
        return None;
    };
    let store = PostgresStore::open(&url).unwrap();
    Some((dir, Box::new(store)))
}

/// Every case of the suite, as tests on the stores `open` makes.
macro_rules! store_suite {
    ($backend:ident) => {
        mod $backend {
            #[test]
            fn user_page_sorts_filters_and_pages_by_the_rules() {
                if let Some((_dir, store)) = super::$backend() {
                    let org = super::user_page::fill(&*store);
                    super::user_page::check(&*store, org);
                }
            }

            #[test]
            fn organizations_are_listed_oldest_first_with_their_users() {
                if let Some((_dir, store)) = super::$backend() {
                    super::organizations::listed_oldest_first_with_their_users(&*store);
                }
            }

            #[test]
            fn attempts_hold_under_parallel_takes() {
                if let Some((_dir, store)) = super::$backend() {
                    super::limits::attempts_hold_under_parallel_takes(&*store);
                }
            }

            #[test]
            fn idempotency_answers_expire_and_are_bounded() {
                if let Some((_dir, store)) = super::$backend() {
                    super::limits::idempotency_answers_expire_and_are_bounded(&*store);
                }
            }

            #[test]
            fn sms_code_attempts_run_out() {
                if let Some((_dir, store)) = super::$backend() {
                    super::registration::attempts_run_out(&*store);
                }
            }

            #[test]
            fn sms_code_expires() {
                if let Some((_dir, store)) = super::$backend() {
                    super::registration::code_expires(&*store);
                }
            }

            #[test]
            fn the_right_code_activates_the_user_once() {
                if let Some((_dir, store)) = super::$backend() {
                    super::registration::right_code_activates_once(&*store);
                }
            }
        }
    };
}

store_suite!(sqlite);
store_suite!(postgres);

#[test]
fn both_stores_page_alike() {
    let (Some((_a, sqlite)), Some((_b, postgres))) = (sqlite(), postgres()) else {
        return;
    };
    let on_sqlite = user_page::check(&*sqlite, user_page::fill(&*sqlite));
    let on_postgres = user_page::check(&*postgres, user_page::fill(&*postgres));
    assert_eq!(on_sqlite.len(), on_postgres.len());
    for (s, p) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(s, p, "the stores page differently");
    }
}

/// The SQLite store remembers the users table's totals per database generation: a write by
/// a second instance on the same file shows in the first one's next total.
#[test]
fn a_users_total_follows_a_write_from_another_instance() {
    use access_domain::Access;
    use access_server::store::UserStore;
    use access_server::store::user_list::UserQuery;
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).unwrap();
    let second = SqliteStore::open(dir.path()).unwrap();
    let org = user_page::fill(&first);
    // What a manager of no units sees: the residents of no unit.
    let within_none = UserQuery {
        within_units: Some(vec![]),
        limit: 2,
        ..UserQuery::default()
    };
    let before = first.user_page(org, &within_none).unwrap();
    assert!(before.total > 1);
    assert_eq!(
        first.user_page(org, &within_none).unwrap().total,
        before.total
    );
    let someone = before.users[0].id;
    second
        .set_access(
            org,
            someone,
            &Access::AllLocks,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert_eq!(
        first.user_page(org, &within_none).unwrap().total,
        before.total - 1
    );
}
