//! What every authenticated admin handler works with.

use kit::call::Reply;
use kit::settings::Settings;
use kit::store::audit::Writer;
use kit::store::Db;
use kit::{Call, Fault};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tenancy::access::{self, Need, Target};
use tenancy::inputs::Validate;
use tenancy::page::Page;
use tenancy::principal::Actor;
use worker::{Env, Request};

/// Admin bodies are small; anything larger is refused before it is read.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct Ctx<'a> {
    pub env: &'a Env,
    pub call: &'a Call,
    pub settings: std::rc::Rc<Settings>,
    pub db: Db,
    pub actor: Actor,
    /// Set when the interfaces' session cookie authenticated the request.
    pub session: Option<kit::principal::Session>,
    pub now: i64,
    pub query: String,
}

impl Ctx<'_> {
    pub fn writer(&self) -> Writer<'_> {
        Writer {
            db: &self.db,
            actor: self.actor.audit_name(),
            request_id: &self.call.request_id,
            now: self.now,
        }
    }

    pub fn authorize(&self, need: Need, target: &Target) -> Result<(), Fault> {
        Ok(access::authorize(&self.actor, need, target)?)
    }

    /// Reads, parses and validates a JSON body.
    pub async fn body<T: DeserializeOwned + Validate>(
        &self,
        req: &mut Request,
    ) -> Result<T, Fault> {
        let bytes = kit::call::read_body(req, BODY_LIMIT).await?;
        Ok(tenancy::inputs::parse_input(&bytes, self.now)?)
    }

    pub fn page(&self, kind: tenancy::ids::IdKind) -> Result<Page, Fault> {
        Ok(Page::from_query(&self.query, kind)?)
    }

    /// After a change to an instance's models, provider keys or policies: drop its cached snapshots.
    pub async fn instance_changed(&self, instance_id: &str) -> Result<(), Fault> {
        kit::principal::forget_instances(self.env, &[instance_id.to_string()]).await
    }

    pub fn ok<T: Serialize>(&self, body: &T) -> Reply {
        self.call.json(200, body)
    }

    pub fn created<T: Serialize>(&self, body: &T) -> Reply {
        self.call.json(201, body)
    }

    pub fn list<T: Serialize>(
        &self,
        items: Vec<T>,
        page: &Page,
        id_of: impl Fn(&T) -> &str,
    ) -> Reply {
        self.call
            .json(200, &tenancy::page::list_body(items, page.limit, id_of))
    }
}
