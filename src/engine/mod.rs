//! The build engine (layer 4). The core — the salsa database, the shared queries, the
//! scheduler, materialization, planning/explaining, audit, gc, graph and watch — names no flow;
//! each flow (`flows/`) declares its targets' artifacts, each made by one [`action::Action`].

pub mod action;
pub mod audit;
pub mod budget;
pub mod db;
pub mod error;
pub mod event;
pub mod flow;
pub mod flows;
pub mod gc;
pub mod globs;
pub mod graph;
pub mod inputs;
pub mod plan;
pub mod progress;
pub mod query;
pub mod remote_cache;
pub mod render;
pub mod select;
pub mod session;
pub mod watch;

pub use db::{Database, Db, Exec, Mode};
pub use error::{BuildError, Built};
pub use event::{ArtifactEvent, Status};
pub use render::{Outcome, Reporter, Summary};
pub use session::Session;
