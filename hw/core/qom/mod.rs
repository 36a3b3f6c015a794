//! QOM: the object tree QMP's `qom-*` commands walk and the registry of
//! the types its objects have.

pub mod tree;
pub mod types;

pub use tree::{
    Access, DeviceSpec, GpioList, ObjectId, ObjectTree, PropertyListing, QomError, Resolved,
    ValueRule,
};
pub use types::{ClassProperty, TypeInfo, TypeLookupError, TypeRegistry};
