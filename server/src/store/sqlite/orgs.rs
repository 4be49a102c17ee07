//! [`OrgStore`] on SQLite: organizations, properties and units.

use access_domain::Permission;
use rusqlite::params;
use uuid::Uuid;

use super::{SqliteStore, ids_to_json, perms_to_text, ts};
use crate::store::rows::{self, Columns};
use crate::store::{
    NewOrganization, OrgStore, OrganizationKey, OrganizationRecord, PropertyRecord, StoreError,
    StoreResult, UnitRecord,
};

impl OrgStore for SqliteStore {
    fn organization_count(&self) -> StoreResult<u64> {
        self.with(|c| {
            Ok(c.prepare_cached("SELECT COUNT(*) FROM organizations")?
                .query_row([], |r| rows::count(r, 0))?)
        })
    }

    fn create_organization(&self, org: &NewOrganization) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO organizations (id, name, signing_key, public_key, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                org.id.to_string(),
                org.name,
                org.signing_key_pkcs8,
                org.public_key,
                ts(org.now)
            ])?;
            tx.prepare_cached(
                "INSERT INTO users (id, org_id, user_type, status, name, username, \
                 invited_email, registered_email, password_hash, permissions, access_type, \
                 invited_at) VALUES (?1, ?2, 'team_member', 'active', ?3, 'admin', ?4, ?4, \
                 ?5, ?6, 'all_locks', ?7)",
            )?
            .execute(params![
                org.admin_id.to_string(),
                org.id.to_string(),
                org.admin_name,
                org.admin_email,
                org.admin_password_hash,
                perms_to_text(&Permission::ALL),
                ts(org.now)
            ])?;
            Ok(())
        })
    }

    fn organization_key(&self, org_id: Uuid) -> StoreResult<OrganizationKey> {
        self.with(|c| {
            Ok(
                c.prepare_cached(
                    "SELECT signing_key, public_key FROM organizations WHERE id = ?1",
                )?
                .query_row([org_id.to_string()], |r| rows::organization_key(r))?,
            )
        })
    }

    fn organization_name(&self, org_id: Uuid) -> StoreResult<String> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT name FROM organizations WHERE id = ?1")?
                    .query_row([org_id.to_string()], |r| r.get(0))?,
            )
        })
    }

    fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        self.with(|c| {
            let sql = format!("SELECT {}", rows::ORGANIZATION_COLS);
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], |r| rows::organization(r))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn create_property(&self, org_id: Uuid, id: Uuid, name: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO properties (id, org_id, name) VALUES (?1, ?2, ?3)")?
                .execute(params![id.to_string(), org_id.to_string(), name])?;
            Ok(())
        })
    }

    fn list_properties(&self, org_id: Uuid) -> StoreResult<Vec<PropertyRecord>> {
        self.with(|c| {
            let props = c
                .prepare_cached(
                    "SELECT id, name FROM properties WHERE org_id = ?1 ORDER BY name, id",
                )?
                .query_map([org_id.to_string()], |r| rows::property(r))?
                .collect::<rusqlite::Result<_>>()?;
            let units = c
                .prepare_cached(
                    "SELECT id, property_id, name FROM units WHERE org_id = ?1 ORDER BY name, id",
                )?
                .query_map([org_id.to_string()], |r| rows::unit(r))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows::with_units(props, units))
        })
    }

    fn create_unit(
        &self,
        org_id: Uuid,
        property_id: Uuid,
        id: Uuid,
        name: &str,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let exists: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM properties WHERE id = ?1 AND org_id = ?2)",
                )?
                .query_row(params![property_id.to_string(), org_id.to_string()], |r| {
                    r.get(0)
                })?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            tx.prepare_cached(
                "INSERT INTO units (id, property_id, org_id, name) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                id.to_string(),
                property_id.to_string(),
                org_id.to_string(),
                name
            ])?;
            Ok(())
        })
    }

    fn unit(&self, org_id: Uuid, unit_id: Uuid) -> StoreResult<UnitRecord> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT id, property_id, name FROM units WHERE org_id = ?1 AND id = ?2",
            )?
            .query_row(params![org_id.to_string(), unit_id.to_string()], |r| {
                rows::unit(r)
            })?)
        })
    }

    fn existing_units(&self, org_id: Uuid, unit_ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM units WHERE org_id = ?1 \
                 AND id IN (SELECT value FROM json_each(?2))",
            )?;
            let found = stmt
                .query_map(params![org_id.to_string(), ids_to_json(unit_ids)], |r| {
                    r.uuid(0)
                })?;
            Ok(found.collect::<rusqlite::Result<_>>()?)
        })
    }
}
