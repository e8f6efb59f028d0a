//! The build engine (layer 4): the salsa database and its queries per flow, the scheduler,
//! materialization, planning/explaining, audit, gc, graph and watch.

pub mod album;
pub mod audit;
pub mod db;
pub mod gc;
pub mod graph;
pub mod kit;
pub mod plan;
pub mod query;
pub mod render;
pub mod run_json;
pub mod segment;
pub mod select;
pub mod session;
pub mod song;
pub mod targets;
pub mod textures;
pub mod video;
pub mod watch;

pub use db::{Database, Db, Exec, Mode};
pub use render::{ArtifactEvent, Outcome, Reporter, Status, Summary};
pub use session::Session;
