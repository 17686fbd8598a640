//! One generation request once it is planned: who asked, what was decided, and how the upstream part went.
//! Data only; the modules that act on it (generate, reply, stream) do not call each other in a circle.

use generation::{Leg, Plan};
use kit::settings::Settings;
use std::rc::Rc;
use tenancy::principal::Principal;

pub struct Job {
    pub plan: Plan,
    /// The scopes whose budgets this request reserves on (`None`: none of them has a budget).
    pub budget_chain: Option<Vec<String>>,
    pub principal: Principal,
    pub settings: Rc<Settings>,
    pub request_id: String,
    /// The caller's own `x-request-id`, recorded in its usage row.
    pub client_request_id: Option<String>,
    pub started_ms: f64,
}

impl Job {
    /// The model name the caller used (echoed in responses and usage rows, whichever route answered).
    pub fn model(&self) -> &str {
        self.plan
            .legs
            .first()
            .map_or("", |l| l.route.model.as_str())
    }

    /// The route taken (the model's when none was taken).
    pub fn leg(&self, index: usize) -> Option<&Leg> {
        self.plan.legs.get(index).or(self.plan.legs.first())
    }
}
