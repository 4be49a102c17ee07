//! The field scenario through the real radio code path: access-core's btleplug transport,
//! BlueZoo on a private D-Bus, and the `virtual-lock` binary (a bluer peripheral with the
//! lock brain), with the real server in-process. The unlock benchmark on the same rig is
//! `benches/unlock.rs`.

mod rig;
mod support;

use rig::BluezooRig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_scenario_over_btleplug_and_bluezoo() {
    let mut rig = BluezooRig::start(0).await;
    support::scenario(&mut rig).await;
}
