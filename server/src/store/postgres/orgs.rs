//! [`OrgStore`] on PostgreSQL.

use super::*;

impl OrgStore for PostgresStore {
    fn organization_count(&self) -> StoreResult<u64> {
        self.read(|c| rows::count(&c.one("SELECT COUNT(*) FROM organizations", &[])?, 0))
    }

    fn create_organization(&self, org: &NewOrganization) -> StoreResult<()> {
        self.write(|tx| {
            tx.exec(
                "INSERT INTO organizations (id, name, signing_key, public_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &org.id,
                    &org.name,
                    &org.signing_key_pkcs8,
                    &org.public_key,
                    &org.now,
                ],
            )?;
            tx.exec(
                "INSERT INTO users (id, org_id, user_type, status, name, username, \
                 invited_email, registered_email, password_hash, permissions, access_type, \
                 invited_at) VALUES ($1, $2, 'team_member', 'active', $3, 'admin', $4, $4, \
                 $5, $6, 'all_locks', $7)",
                &[
                    &org.admin_id,
                    &org.id,
                    &org.admin_name,
                    &org.admin_email,
                    &org.admin_password_hash,
                    &perms_to_vec(&Permission::ALL),
                    &org.now,
                ],
            )?;
            Ok(())
        })
    }

    fn organization_key(&self, org_id: Uuid) -> StoreResult<OrganizationKey> {
        self.read(|c| {
            let r = c.one(
                "SELECT signing_key, public_key FROM organizations WHERE id = $1",
                &[&org_id],
            )?;
            Ok(OrganizationKey {
                signing_key_pkcs8: r.try_get(0)?,
                public_key: r.try_get(1)?,
            })
        })
    }

    fn organization_name(&self, org_id: Uuid) -> StoreResult<String> {
        self.read(|c| {
            Ok(
                c.one("SELECT name FROM organizations WHERE id = $1", &[&org_id])?
                    .try_get(0)?,
            )
        })
    }

    fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        self.read(|c| {
            let sql = format!("SELECT {}", rows::ORGANIZATION_COLS);
            all(c.query(&sql, &[])?, rows::organization)
        })
    }

    fn create_property(&self, org_id: Uuid, id: Uuid, name: &str) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "INSERT INTO properties (id, org_id, name) VALUES ($1, $2, $3)",
                &[&id, &org_id, &name],
            )?;
            Ok(())
        })
    }

    fn list_properties(&self, org_id: Uuid) -> StoreResult<Vec<PropertyRecord>> {
        self.transact(IsolationLevel::RepeatableRead, true, |c| {
            // Byte order of names, as on SQLite, whatever the database's collation.
            let mut props = all(
                c.query(
                    "SELECT id, name FROM properties WHERE org_id = $1 \
                     ORDER BY name COLLATE \"C\", id",
                    &[&org_id],
                )?,
                |r| {
                    Ok(PropertyRecord {
                        id: r.try_get(0)?,
                        name: r.try_get(1)?,
                        units: Vec::new(),
                    })
                },
            )?;
            let units = all(
                c.query(
                    "SELECT id, property_id, name FROM units WHERE org_id = $1 \
                     ORDER BY name COLLATE \"C\", id",
                    &[&org_id],
                )?,
                |r| {
                    Ok(UnitRecord {
                        id: r.try_get(0)?,
                        property_id: r.try_get(1)?,
                        name: r.try_get(2)?,
                    })
                },
            )?;
            for unit in units {
                if let Some(p) = props.iter_mut().find(|p| p.id == unit.property_id) {
                    p.units.push(unit);
                }
            }
            Ok(props)
        })
    }

    fn create_unit(
        &self,
        org_id: Uuid,
        property_id: Uuid,
        id: Uuid,
        name: &str,
    ) -> StoreResult<()> {
        self.read(|c| {
            // One statement: the property check and the insert cannot be split by a writer.
            let n = c.exec(
                "INSERT INTO units (id, property_id, org_id, name) \
                 SELECT $1, p.id, p.org_id, $4 FROM properties p WHERE p.id = $2 AND p.org_id = $3",
                &[&id, &property_id, &org_id, &name],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
    }

    fn unit(&self, org_id: Uuid, unit_id: Uuid) -> StoreResult<UnitRecord> {
        self.read(|c| {
            let r = c.one(
                "SELECT id, property_id, name FROM units WHERE org_id = $1 AND id = $2",
                &[&org_id, &unit_id],
            )?;
            Ok(UnitRecord {
                id: r.try_get(0)?,
                property_id: r.try_get(1)?,
                name: r.try_get(2)?,
            })
        })
    }

    fn existing_units(&self, org_id: Uuid, unit_ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        self.read(|c| {
            let found = c.query(
                "SELECT id FROM units WHERE org_id = $1 AND id = ANY($2)",
                &[&org_id, &unit_ids],
            )?;
            found.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
    }
}
