//! Group writes of `msim_session` (SPEC §10.2, §25). Listing is `msim_session_request_groups`.

use std::os::raw::c_char;

use super::boundary::arg_str;
use super::result::msim_result;
use super::session::{map, msim_session, with, write_out};

/// Creates the contact group `name`, or updates the position and flags of the group of that name
/// (2/16 PUT `GroupName Position GroupFlag`, SPEC §10.2); `on_group_saved` with the same request
/// id (written to `*out_request_id`, which may be NULL) follows. `position` 0 and `flags` 0 leave
/// that key out (the official client always sends both; msim-server then appends the group and
/// uses flags 131073, those of "IM Friends"). The meaning of the flag bits is unknown. An empty
/// `name` gives MSIM_RESULT_INVALID_ARGUMENT. Renaming and deleting a group by its id:
/// `msim_session_rename_group`, `msim_session_remove_group`; moving a contact to a group is
/// `msim_session_set_contact_info`. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `name` NUL-terminated; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_save_group(
    session: *mut msim_session,
    name: *const c_char,
    position: u32,
    flags: u32,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let name = arg_str(name)?;
        let rid = map(s.session.save_group(name, (position != 0).then_some(position), (flags != 0).then_some(flags)))?;
        write_out(out_request_id, rid);
        Ok(())
    })
}

/// Renames the contact group `group_id` (an id from `on_groups`) to `new_name`: 2/16 PUT
/// `GroupID GroupName` (SPEC §25, as the Digsby client does). `on_group_saved` with the same
/// request id (written to `*out_request_id`, which may be NULL) follows, with the group as the
/// server echoed it (its id is `group_id` when the echo carries none) or why it failed. Contacts
/// keep their group. `group_id` 0 or an empty `new_name` gives MSIM_RESULT_INVALID_ARGUMENT.
/// Needs a signed-on session.
///
/// # Safety
/// `session` valid; `new_name` NUL-terminated; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_rename_group(
    session: *mut msim_session,
    group_id: u32,
    new_name: *const c_char,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let name = arg_str(new_name)?;
        let rid = map(s.session.rename_group(group_id, name))?;
        write_out(out_request_id, rid);
        Ok(())
    })
}

/// Deletes the contact group `group_id` (an id from `on_groups`): 2/16 DELETE (cmd 3) `GroupID`
/// (SPEC §25, as the Digsby client does). `on_group_removed` with the same request id (written
/// to `*out_request_id`, which may be NULL) follows. What the server does with contacts still in
/// the group is not known: move them first (`msim_session_set_contact_info`). `group_id` 0 gives
/// MSIM_RESULT_INVALID_ARGUMENT. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_remove_group(
    session: *mut msim_session,
    group_id: u32,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let rid = map(s.session.remove_group(group_id))?;
        write_out(out_request_id, rid);
        Ok(())
    })
}
