//! Contact groups (SPEC §10.2, §25): the list (2/6) and 2/16 — a PUT without `GroupID` creates or
//! updates a group by `GroupName` (the official client's write), a PUT with `GroupID` changes that
//! group (Digsby's rename), and cmd 3 (DELETE) with `GroupID` deletes it. Every 2/16 reply echoes
//! the request's body (SPEC §10.2), cmd 258 for a PUT and 259 for a DELETE.

use msim::protocol::dict::{Dict, DictBuilder};

use super::persist::{need_str, opt_str, opt_u32, Answer, Refusal};
use crate::db::PLAIN_GROUP_FLAG;
use crate::log_if;
use crate::state::Shared;

/// 2/6: `GroupID GroupName Position GroupFlag` per group, in position order.
pub(super) fn list(shared: &Shared, uid: u32) -> Answer {
    let mut d = DictBuilder::new();
    for g in shared.db.groups(uid)? {
        d = d
            .int("GroupID", g.id)
            .str("GroupName", &g.name)
            .int("Position", g.position.into())
            .int("GroupFlag", g.flag.into());
    }
    Ok(d)
}

fn group_id(body: &Dict<'_>) -> Result<u64, Refusal> {
    body.get_u64("GroupID").map_err(|e| Refusal(format!("The request body is malformed: {e}")))
}

/// 2/16 PUT: by `GroupID` when the body has one (rename, new position or flag; absent keys keep
/// their value), else by `GroupName` (created when new, at the next position unless given).
pub(super) fn write(shared: &Shared, uid: u32, body: &Dict<'_>) -> Answer {
    let db = &shared.db;
    if body.has("GroupID") {
        let id = group_id(body)?;
        let name = opt_str(body, "GroupName")?;
        db.update_group(uid, id, name.as_deref(), opt_u32(body, "Position")?, opt_u32(body, "GroupFlag")?)?;
    } else {
        let name = need_str(body, "GroupName")?;
        let next_pos = db.groups(uid)?.iter().map(|g| g.position).max().unwrap_or(0) + 1;
        let position = opt_u32(body, "Position")?.unwrap_or(next_pos);
        let flag = opt_u32(body, "GroupFlag")?.unwrap_or(PLAIN_GROUP_FLAG);
        db.write_group(uid, &name, position, flag)?;
    }
    Ok(DictBuilder::new().extend_raw(body))
}

/// 2/16 cmd 3: deletes group `GroupID`; its contacts stay on the list and move to the default
/// group (`Db::delete_group`, *decision*: no source says what the official server did with them,
/// and deleting contacts nobody asked to remove would lose data).
pub(super) fn delete(shared: &Shared, uid: u32, body: &Dict<'_>) -> Answer {
    let id = group_id(body)?;
    let moved = shared.db.delete_group(uid, id)?;
    if moved > 0 {
        log_if(shared, format_args!("uid {uid}: group {id} deleted, {moved} contact(s) moved to the default group"));
    }
    Ok(DictBuilder::new().extend_raw(body))
}
