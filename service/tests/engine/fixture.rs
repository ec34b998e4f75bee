//! What every in-process engine test starts from: a run store and the run's own agent,
//! both under one temporary directory that lives as long as the fixture.

use std::sync::Arc;

use faultline::store::Store;
use faultline_agent::agent::Agent;

pub(crate) struct Fixture {
    pub(crate) store: Arc<Store>,
    pub(crate) agent: Arc<Agent>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(Agent::open(dir.path().join("agent")).await.unwrap());
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    Fixture {
        store,
        agent,
        _dir: dir,
    }
}
