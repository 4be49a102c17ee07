//! Door updates as a chain: the updates that take a lock from what it holds to what the
//! platform wants, each within the protocol's bounds ([`door::MAX_PUT_CODES`],
//! [`door::MAX_REMOVE_CODES`], [`door::MAX_ADD_REVOCATIONS`]) and built on the version before
//! it, so a door of any size follows the platform and a phone carries the whole chain in one
//! round trip (the lock applies them in order, each as a whole).
//!
//! From a version the lock confirmed, the chain carries only the difference: codes removed
//! first (a revoke is the urgent part, and new codes may reuse freed digits), then the
//! revocations, then the new or changed codes; name, mode and secrets only when they
//! changed. Without a base the chain starts with a whole state: the server plans from the
//! confirmed version only for a door whose state does not fit one whole update (a whole
//! update applies whatever the lock holds, a delta only on its base).
//!
//! ```
//! use access_server::service::door_chain::{plan, Target};
//! use access_server::store::HeldState;
//! let target = Target { held: HeldState::default(), codes: vec![], revocations: vec![] };
//! // Nothing held yet and nothing wanted: one whole state, all the same.
//! let chain = plan(None, &target, 7);
//! assert_eq!(chain.len(), 1);
//! assert_eq!((chain[0].version, chain[0].base_version), (7, 0));
//! ```

use std::collections::BTreeSet;

use lock_protocol::command::{AccessCode, Revocation};
use lock_protocol::door;
use uuid::Uuid;

use crate::store::{DoorUpdateRecord, HeldState};

/// What the lock should hold, in the protocol's terms: `held` sums it up, `codes` and
/// `revocations` are what an update puts and adds (ordered as `held` orders them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub held: HeldState,
    /// Each code with its server id.
    pub codes: Vec<(Uuid, AccessCode)>,
    pub revocations: Vec<Revocation>,
}

/// One update of a chain before it is sealed and signed: what changes, on which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUpdate {
    pub version: u64,
    /// 0: a whole state.
    pub base_version: u64,
    pub name: bool,
    pub mode: bool,
    /// Master code, code secret and report key.
    pub secrets: bool,
    pub remove_codes: Vec<Uuid>,
    /// Indexes into [`Target::codes`].
    pub put_codes: Vec<usize>,
    /// Indexes into [`Target::revocations`].
    pub add_revocations: Vec<usize>,
    /// What the lock holds once it applied this update.
    pub held: HeldState,
}

/// The updates from `base` (a version and what the lock holds at it; `None`: start with a
/// whole state) to `target`, versions from `first_version` on. Never empty: a lock that
/// already holds the target gets one delta that changes nothing but the version, so that
/// its confirmation says so.
pub fn plan(
    base: Option<(u64, &HeldState)>,
    target: &Target,
    first_version: u64,
) -> Vec<PlannedUpdate> {
    let (mut held, mut base_version, whole) = match base {
        Some((v, h)) => (h.clone(), v, false),
        None => (HeldState::default(), 0, true),
    };
    let wanted: BTreeSet<Uuid> = target.codes.iter().map(|(id, _)| *id).collect();
    let removes: Vec<Uuid> = held
        .codes
        .keys()
        .filter(|id| !wanted.contains(id))
        .copied()
        .collect();
    let puts: Vec<usize> = (0..target.codes.len())
        .filter(|&i| {
            let id = target.codes[i].0;
            whole || held.codes.get(&id) != target.held.codes.get(&id)
        })
        .collect();
    let adds: Vec<usize> = (0..target.revocations.len())
        .filter(|&i| {
            let r = &target.revocations[i];
            whole || held.revocations.get(&r.serial) != Some(&r.expires_at)
        })
        .collect();

    let (mut removes, mut puts, mut adds) = (removes.as_slice(), puts.as_slice(), adds.as_slice());
    let mut chain = Vec::new();
    let mut version = first_version;
    loop {
        let first = chain.is_empty();
        let take_removes = removes.len().min(door::MAX_REMOVE_CODES);
        let (remove_now, rest) = removes.split_at(take_removes);
        removes = rest;
        let take_adds = adds.len().min(door::MAX_ADD_REVOCATIONS);
        let (add_now, rest) = adds.split_at(take_adds);
        adds = rest;
        // Puts wait for every removal: a new code may take digits a removed one held.
        let take_puts = if removes.is_empty() {
            puts.len().min(door::MAX_PUT_CODES)
        } else {
            0
        };
        let (put_now, rest) = puts.split_at(take_puts);
        puts = rest;

        let mut update = PlannedUpdate {
            version,
            base_version,
            name: first && (whole || held.name != target.held.name),
            mode: first && (whole || held.mode != target.held.mode),
            secrets: first && (whole || held.secrets != target.held.secrets),
            remove_codes: remove_now.to_vec(),
            put_codes: put_now.to_vec(),
            add_revocations: add_now.to_vec(),
            held: HeldState::default(),
        };
        if update.name {
            held.name.clone_from(&target.held.name);
        }
        if update.mode {
            held.mode = target.held.mode;
        }
        if update.secrets {
            held.secrets.clone_from(&target.held.secrets);
        }
        for id in remove_now {
            held.codes.remove(id);
        }
        for &i in put_now {
            let id = target.codes[i].0;
            if let Some(fp) = target.held.codes.get(&id) {
                held.codes.insert(id, fp.clone());
            }
        }
        for &i in add_now {
            let r = &target.revocations[i];
            held.revocations.insert(r.serial, r.expires_at);
        }
        let done = removes.is_empty() && puts.is_empty() && adds.is_empty();
        if done {
            // The lock forgets expired revocations by itself: the target's list is it.
            held.revocations.clone_from(&target.held.revocations);
        }
        update.held = held.clone();
        chain.push(update);
        if done {
            return chain;
        }
        base_version = version;
        version += 1;
    }
}

/// The chain among `updates` (one lock's, oldest first) that ends with `last` and starts on
/// `from` or with a whole state, following each update back to the one it is built on;
/// `None` when a link is missing.
///
/// ```
/// # use access_server::service::door_chain::chain_to;
/// # use access_server::store::DoorUpdateRecord;
/// let update = |version, base_version| DoorUpdateRecord {
///     lock_id: uuid::Uuid::nil(), version, base_version, digest: [0; 32], code_ids: vec![],
///     body: vec![], created_at: time::OffsetDateTime::UNIX_EPOCH, held: None,
/// };
/// let all = [update(5, 0), update(10, 5), update(11, 10), update(20, 5), update(21, 20)];
/// let versions = |c: Vec<DoorUpdateRecord>| c.iter().map(|u| u.version).collect::<Vec<_>>();
/// assert_eq!(chain_to(&all, 21, 5).map(versions), Some(vec![20, 21]));
/// assert_eq!(chain_to(&all, 11, 0).map(versions), Some(vec![5, 10, 11]));
/// // Version 5 forgotten: 10 builds on nothing known.
/// assert_eq!(chain_to(&all[1..], 11, 7), None);
/// ```
pub fn chain_to(
    updates: &[DoorUpdateRecord],
    last: u64,
    from: u64,
) -> Option<Vec<DoorUpdateRecord>> {
    let find = |v: u64| updates.iter().find(|u| u.version == v);
    let mut chain = vec![find(last)?.clone()];
    loop {
        let base = chain.last()?.base_version;
        if base == from || base == 0 {
            chain.reverse();
            return Some(chain);
        }
        chain.push(find(base)?.clone());
    }
}

#[cfg(test)]
mod tests {
    use access_domain::{AccessCodeKind, CodeClass, LockMode};

    use super::*;

    fn code(n: u128, digits: u32) -> (Uuid, AccessCode) {
        (
            Uuid::from_u128(n),
            AccessCode {
                code_id: n as u64,
                digits: format!("{digits:08}"),
                kind: AccessCodeKind::Permanent,
                window: None,
                class: CodeClass::Resident,
                owner: None,
            },
        )
    }

    fn target(codes: usize, revocations: usize) -> Target {
        let codes: Vec<_> = (1..=codes as u128).map(|n| code(n, n as u32)).collect();
        let revocations: Vec<Revocation> = (1..=revocations as u64)
            .map(|serial| Revocation {
                serial,
                expires_at: 2_000_000_000,
            })
            .collect();
        Target {
            held: HeldState {
                name: "Front".into(),
                mode: Some(LockMode::Resident),
                secrets: "s1".into(),
                codes: codes
                    .iter()
                    .map(|(id, _)| (*id, format!("fp{id}")))
                    .collect(),
                revocations: revocations
                    .iter()
                    .map(|r| (r.serial, r.expires_at))
                    .collect(),
            },
            codes,
            revocations,
        }
    }

    /// Every update within the protocol's bounds, each on the one before, and the last
    /// holding the target.
    fn check_chain(chain: &[PlannedUpdate], target: &Target, first: u64) {
        for (k, u) in chain.iter().enumerate() {
            assert_eq!(u.version, first + k as u64);
            if k > 0 {
                assert_eq!(u.base_version, chain[k - 1].version);
            }
            assert!(u.put_codes.len() <= door::MAX_PUT_CODES);
            assert!(u.remove_codes.len() <= door::MAX_REMOVE_CODES);
            assert!(u.add_revocations.len() <= door::MAX_ADD_REVOCATIONS);
        }
        assert_eq!(chain.last().unwrap().held, target.held);
    }

    #[test]
    fn a_door_too_large_for_one_update_gets_a_whole_state_then_deltas() {
        let want = target(250, 300);
        let chain = plan(None, &want, 100);
        check_chain(&chain, &want, 100);
        assert_eq!(
            chain.len(),
            3,
            "250 codes: 100 + 100 + 50; 300 revocations: 128 + 128 + 44"
        );
        assert_eq!(chain[0].base_version, 0);
        assert!(chain[0].name && chain[0].mode && chain[0].secrets);
        assert!(chain[1..].iter().all(|u| !u.name && !u.mode && !u.secrets));
        let puts: usize = chain.iter().map(|u| u.put_codes.len()).sum();
        assert_eq!(puts, 250);
    }

    #[test]
    fn from_a_confirmed_version_only_the_difference_travels() {
        let before = target(150, 10);
        let mut want = target(150, 12);
        // Code 3 goes, code 4 changes, code 500 comes; the mode changes.
        want.codes.retain(|(id, _)| *id != Uuid::from_u128(3));
        want.held.codes.remove(&Uuid::from_u128(3));
        want.held.codes.insert(Uuid::from_u128(4), "changed".into());
        let (id, c) = code(500, 500);
        want.held.codes.insert(id, "new".into());
        want.codes.push((id, c));
        want.held.mode = Some(LockMode::Vacant);

        let chain = plan(Some((41, &before.held)), &want, 42);
        check_chain(&chain, &want, 42);
        assert_eq!(chain.len(), 1);
        let u = &chain[0];
        assert_eq!(u.base_version, 41);
        assert!(u.mode && !u.name && !u.secrets);
        assert_eq!(u.remove_codes, [Uuid::from_u128(3)]);
        let put: Vec<Uuid> = u.put_codes.iter().map(|&i| want.codes[i].0).collect();
        assert_eq!(put, [Uuid::from_u128(4), Uuid::from_u128(500)]);
        let added: Vec<u64> = u
            .add_revocations
            .iter()
            .map(|&i| want.revocations[i].serial)
            .collect();
        assert_eq!(added, [11, 12]);
    }

    #[test]
    fn new_codes_wait_until_every_removal_is_carried() {
        let before = target(450, 0);
        // Every code replaced by another: 450 removals (200 + 200 + 50), then 450 puts.
        let mut want = target(0, 0);
        for n in 1000..1450u128 {
            let (id, c) = code(n, n as u32 - 1000);
            want.held.codes.insert(id, format!("fp{id}"));
            want.codes.push((id, c));
        }
        let chain = plan(Some((1, &before.held)), &want, 2);
        check_chain(&chain, &want, 2);
        let mut removed = 0;
        for u in &chain {
            // The lock removes before it puts, within one update too.
            removed += u.remove_codes.len();
            if !u.put_codes.is_empty() {
                assert_eq!(removed, 450, "a put before the last removal");
            }
        }
        assert_eq!(
            chain.len(),
            3 + 4,
            "3 updates of removals (the last with 100 puts), 4 more of puts"
        );
    }

    #[test]
    fn a_lock_that_holds_the_target_gets_one_empty_delta() {
        let want = target(5, 2);
        let chain = plan(Some((9, &want.held)), &want, 10);
        assert_eq!(chain.len(), 1);
        let u = &chain[0];
        assert_eq!((u.version, u.base_version), (10, 9));
        assert!(
            u.remove_codes.is_empty() && u.put_codes.is_empty() && u.add_revocations.is_empty()
        );
        assert!(!u.name && !u.mode && !u.secrets);
    }
}
