//! Renaming and deleting contact groups (SPEC §25: "2/16 with `GroupID` changes that group, cmd 3
//! with `GroupID` deletes it", from Digsby). Creating a group and changing its position or flags by
//! name is `save_group` (`commands.rs`, SPEC §10.2); listing them is `request_groups`.

use std::time::Instant;

use crate::protocol::persist::{cmd, DataItem};
use crate::protocol::DictBuilder;

use super::error::{Error, Result};
use super::events::RequestId;
use super::machine::Machine;
use super::requests::Purpose;

impl Machine {
    /// Renames group `id` (a `GroupID` of `Groups`) to `name`: 2/16 PUT
    /// `GroupID=<id><1C>GroupName=<name>`. Answered like `save_group` by `GroupSaved` (the
    /// server's echo, SPEC §10.2; its `id` is `id` when the echo carries none).
    pub fn rename_group(&mut self, id: u32, name: &str, now: Instant) -> Result<RequestId> {
        self.require_signed_on()?;
        if id == 0 {
            return Err(Error::InvalidArgument("group id 0 names no group".into()));
        }
        if name.is_empty() {
            return Err(Error::InvalidArgument("a group needs a name".into()));
        }
        super::commands::check_stored_text("the group name", name)?;
        let body = DictBuilder::new().int("GroupID", u64::from(id)).str("GroupName", name);
        let purpose = Some(Purpose::SaveGroup { id, name: name.to_owned() });
        self.persist(cmd::PUT, DataItem::WriteGroup, true, body, purpose, now)
    }

    /// Deletes group `id`: 2/16 DELETE (cmd 3) `GroupID=<id>`. Answered by `GroupRemoved`: any
    /// reply without the error bit is success (what the reply carries is not known). What the
    /// server does with the group's contacts is not known either.
    pub fn remove_group(&mut self, id: u32, now: Instant) -> Result<RequestId> {
        self.require_signed_on()?;
        if id == 0 {
            return Err(Error::InvalidArgument("group id 0 names no group".into()));
        }
        let body = DictBuilder::new().int("GroupID", u64::from(id));
        self.persist(cmd::DELETE, DataItem::WriteGroup, true, body, Some(Purpose::RemoveGroup { id }), now)
    }
}
