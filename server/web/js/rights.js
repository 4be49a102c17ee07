// What the signed-in user may do on this page, read from `/me`. The page only hides what
// the server would refuse anyway: every request is still checked there.

/** Whether `me` holds `permission` (a team member's; residents hold none). */
export function holds(me, permission) {
  return me?.user_type === 'team_member' && (me.permissions || []).includes(permission);
}

/** Invite users and manage them, within the user's own units and permissions. */
export function managesAccess(me) {
  return holds(me, 'manage_access');
}

/** Properties, units and the outbox: a manager with access to all locks. */
export function managesOrganization(me) {
  return managesAccess(me) && me.access?.type === 'all_locks';
}

/** The desktop page is for team members; residents use NoKey Resident. */
export function usesDesktop(me) {
  return me?.user_type === 'team_member' && me.status === 'active';
}
