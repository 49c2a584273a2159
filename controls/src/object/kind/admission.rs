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
    /// of any other subresource is allowed unjudged. The API server sends a subresource write
    /// (PUT or PATCH) as an UPDATE, so only UPDATE is judged on them
    /// ([`Admission::SUBRESOURCE_OPERATIONS`]).
    pub subresources: &'static [&'static str],
}

impl Admission {
    /// Not judged on admission.
    pub const NONE: Admission = Admission {
        operations: &[],
        subresources: &[],
    };
    /// New and changed objects.
    pub(super) const WRITES: Admission = Admission::writes_and(&[]);
    /// New, changed and deleted objects (a deletion can uncover what the object protected).
    pub(super) const WRITES_AND_DELETIONS: Admission = Admission {
        operations: &[Operation::Create, Operation::Update, Operation::Delete],
        subresources: &[],
    };

    /// New and changed objects, and the writes of `subresources`.
    pub(super) const fn writes_and(subresources: &'static [&'static str]) -> Admission {
        Admission {
            operations: &[Operation::Create, Operation::Update],
            subresources,
        }
    }

    /// The operations judged on a subresource: its writes arrive as UPDATEs (`kubectl scale`,
    /// `kubectl debug`); the subresources that arrive as CREATEs (`pods/eviction`,
    /// `pods/binding`) change no judged field and are not asked for.
    pub const SUBRESOURCE_OPERATIONS: &'static [Operation] = &[Operation::Update];

    /// The operations asked for on `sub_resource` (empty: the object itself).
    pub fn operations_on(&self, sub_resource: &str) -> &'static [Operation] {
        if sub_resource.is_empty() {
            self.operations
        } else if self.subresources.contains(&sub_resource)
            && self.operations.contains(&Operation::Update)
        {
            Self::SUBRESOURCE_OPERATIONS
        } else {
            &[]
        }
    }

    /// Whether the webhook judges `operation` on the object itself (`sub_resource` empty) or on
    /// one of its subresources.
    pub fn judges(&self, operation: Operation, sub_resource: &str) -> bool {
        self.operations_on(sub_resource).contains(&operation)
    }
}
