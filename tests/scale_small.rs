//! The scale scenario of `benches/scale.rs` at a size CI can afford: 200 sessions through the C
//! API sign on to one msim-server and each sends and receives one IM. No timing is asserted.

mod common;

use std::time::Duration;

use common::client::server;
use common::fleet::Fleet;

const N: usize = 200;

#[test]
fn two_hundred_c_api_sessions_sign_on_and_each_exchanges_one_im() {
    let s = server();
    let uids: Vec<u32> = (0..N)
        .map(|i| s.add_account(&format!("u{i}@example.com"), "pw", Some(&format!("u{i}")), None).unwrap())
        .collect();
    for i in 0..N {
        s.add_contact(uids[i], uids[(i + 1) % N], "IM Friends").unwrap();
    }
    let addr = s.addr();
    let mut fleet = Fleet::new();
    let accounts = (0..N).map(|i| (format!("u{i}@example.com"), "pw".to_owned()));
    fleet.sign_on(&addr.ip().to_string(), addr.port(), accounts, 64, Duration::from_secs(60)).unwrap();
    assert_eq!(s.online_count(), N);

    fleet.send_ims(|i| uids[(i + 1) % N], "hello <b>neighbour</b>").unwrap();
    fleet.wait_ims(N, Duration::from_secs(60)).unwrap();
    assert_eq!(fleet.ims_per_session(), vec![1; N], "each session receives exactly its neighbour's IM");
}
