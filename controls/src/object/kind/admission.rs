//! What the webhook asks the API server to send it for one kind: the admission operations it
//! judges, and the subresources whose writes it judges too (a row of the kind table holds one).

/// An admission operation, as an AdmissionReview names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn parse(text: &str) -> Option<Operation> {
        match text {
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            "DELETE" => Some(Operation::Delete),
            "CONNECT" => Some(Operation::Connect),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

/// The admission requests the webhook asks the API server for, for one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The operations judged; none means the kind is not judged on admission.
    pub operations: &'static [Operation],
    /// Subresources whose writes are judged too (e.g. `ephemeralcontainers`, `scale`); a review
    /// of any other subresource is allowed unjudged.
    pub subresources: &'static [&'static str],
}

impl Admission {
    /// Not judged on admission.
    pub const NONE: Admission = Admission {
        operations: &[],
        subresources: &[],
    };
    /// New and changed objects.
    pub const WRITES: Admission = Admission {
        operations: &[Operation::Create, Operation::Update],
        subresources: &[],
    };

    /// Whether the webhook judges `operation` on the object itself (`sub_resource` empty) or on
    /// one of its subresources.
    pub fn judges(&self, operation: Operation, sub_resource: &str) -> bool {
        self.operations.contains(&operation)
            && (sub_resource.is_empty() || self.subresources.contains(&sub_resource))
    }
}
