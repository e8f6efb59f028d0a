//! A target's validated spec, whatever its kind. Each flow defines its own spec type; the
//! loader keeps it behind [`Target`], which compares by value so salsa can tell an edited
//! target from an untouched one.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A spec value of any kind: comparable and shareable across threads.
pub trait SpecValue: Any + fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn dyn_eq(&self, other: &dyn SpecValue) -> bool;
}

impl<T: Any + fmt::Debug + Send + Sync + PartialEq> SpecValue for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn dyn_eq(&self, other: &dyn SpecValue) -> bool {
        other.as_any().downcast_ref::<T>().is_some_and(|o| self == o)
    }
}

/// One target of the project: its kind (`kit`, `album`, …) and validated spec.
#[derive(Clone)]
pub struct Target {
    pub kind: &'static str,
    spec: Arc<dyn SpecValue>,
}

impl Target {
    pub fn new<T: SpecValue>(kind: &'static str, spec: Arc<T>) -> Target {
        Target { kind, spec }
    }

    /// The spec as its concrete type (the flow that made it reading it back).
    pub fn get<T: SpecValue>(&self) -> Option<&T> {
        self.spec.as_any().downcast_ref()
    }

    /// The shared spec as its concrete type.
    pub fn get_arc<T: SpecValue>(&self) -> Option<Arc<T>> {
        let spec: Arc<dyn Any + Send + Sync> = self.spec.clone();
        spec.downcast().ok()
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && (Arc::ptr_eq(&self.spec, &other.spec) || self.spec.dyn_eq(&*other.spec))
    }
}

impl Eq for Target {}
