//! Abort requests for runs another replica drives (`RemoteAborts`): the API that was
//! asked records the request in `abort_requests`, and the replica owning the run takes
//! it on its next poll. The insert reads the run's row `FOR SHARE`, so it waits for a
//! write that is ending the run (which holds the row `FOR UPDATE`, `append.rs`) and then
//! sees it finished: a request is recorded only for a run still unfinished.

use super::cached::Cached;
use super::connect::{PgStore, pg};
use crate::application::ports::{AbortRequest, AbortRequested, RemoteAborts, StoreError};

impl RemoteAborts for PgStore {
    fn request_abort(
        &self,
        run: &str,
        reason: &str,
        actor: &str,
    ) -> Result<AbortRequested, StoreError> {
        let (run, reason, actor) = (run.to_string(), reason.to_string(), actor.to_string());
        self.call(move |inner| async move {
            let client = inner.client().await?;
            // ON CONFLICT DO NOTHING: a second request keeps the first reason (as a local
            // abort does), and a retry after a lost answer writes once.
            let row = client
                .query_one_cached(
                    "WITH live AS (SELECT id, generation FROM runs \
                                   WHERE id = $1 AND finished_at IS NULL FOR SHARE), \
                          asked AS (INSERT INTO abort_requests (run_id, reason, actor, via, generation) \
                                    SELECT id, $2, $3, $4, generation FROM live \
                                    ON CONFLICT (run_id) DO NOTHING RETURNING run_id) \
                     SELECT EXISTS (SELECT 1 FROM live), EXISTS (SELECT 1 FROM runs WHERE id = $1)",
                    &[&run, &reason, &actor, &inner.replica],
                )
                .await
                .map_err(pg("record abort request"))?;
            match (row.get::<_, bool>(0), row.get::<_, bool>(1)) {
                (true, _) => Ok(AbortRequested::Recorded),
                (false, true) => Ok(AbortRequested::RunFinished),
                (false, false) => Err(StoreError::NoSuchRun(run.clone())),
            }
        })
    }

    fn take_abort_requests(&self) -> Result<Vec<AbortRequest>, StoreError> {
        let taken: Vec<(AbortRequest, bool)> = self.call(|inner| async move {
            let client = inner.client().await?;
            // Ours, or left over by a run that finished before its driver took them.
            let rows = client
                .query_cached(
                    "DELETE FROM abort_requests a USING runs r \
                     WHERE a.run_id = r.id AND (r.owner = $1 OR r.finished_at IS NOT NULL) \
                     RETURNING a.run_id, a.reason, a.actor, a.via, r.finished_at IS NULL",
                    &[&inner.replica],
                )
                .await
                .map_err(pg("take abort requests"))?;
            Ok(rows
                .iter()
                .map(|r| {
                    let request = AbortRequest {
                        run: r.get(0),
                        reason: r.get(1),
                        actor: r.get(2),
                        via: r.get(3),
                    };
                    (request, r.get(4))
                })
                .collect())
        })?;
        Ok(taken
            .into_iter()
            .filter_map(|(request, live)| live.then_some(request))
            .collect())
    }
}
