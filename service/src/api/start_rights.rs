//! The one check before any route starts a run for a caller: the caller's grants and, for
//! a CI job, its token's single use (`id_token::may_start`); a refusal is audited as a
//! refused run start by that caller. Apart from `id_token/` because it needs the app's
//! state, which holds the ID tokens.

use faultline_spec::Experiment;

use super::error::ApiError;
use super::id_token;
use super::state::ApiState;
use crate::application::identity::Caller;
use crate::domain::{AuditAction, AuditOutcome, NewAudit};

/// Whether `caller` may start `exp` (see `id_token::may_start`); a refusal is audited.
pub fn may_start(state: &ApiState, caller: &Caller, exp: &Experiment) -> Result<(), ApiError> {
    let checked = id_token::may_start(
        state.id_tokens.get().map(|i| &**i),
        &*state.store,
        caller,
        exp,
    );
    if let Err(refusal) = &checked {
        state.live.audit().record(
            NewAudit::ok(
                caller.actor(),
                AuditAction::RunStart,
                exp.metadata.name.clone(),
            )
            .ended(
                AuditOutcome::Refused,
                format!("{}: {}", refusal.status.as_u16(), refusal.error),
            ),
        );
    }
    checked
}
