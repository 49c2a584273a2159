//! Decoding an AdmissionReview in one pass over the body. Strings borrow from the body; fields the
//! webhook never reads (userInfo, options, ...) are skipped without allocating; and the object is
//! parsed straight into the engine's `Object` while the review is read, when the caller says the
//! review will be judged (the API server writes `kind`, `namespace` and `operation` before
//! `object`). Otherwise the object stays raw JSON, to be parsed later or never.

use std::borrow::Cow;
use std::fmt;

use hipaa_controls::Object;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use hipaa_controls::object::ObjectKind;

/// An incoming AdmissionReview.
#[derive(Debug)]
pub struct ReviewIn<'a> {
    pub api_version: Option<Cow<'a, str>>,
    pub kind: Option<Cow<'a, str>>,
    pub request: Option<RequestIn<'a>>,
}

/// `request` of an AdmissionReview.
#[derive(Debug)]
pub struct RequestIn<'a> {
    pub uid: Cow<'a, str>,
    /// The kind of the object being admitted (after any conversion the API server did).
    pub kind: GroupVersionKindIn<'a>,
    /// `request.resource`, raw: read only when `kind` does not say what is written (a `scale`
    /// write names `autoscaling/v1` `Scale`), see [`GroupVersionResourceIn::parse`].
    pub resource: Option<&'a RawValue>,
    pub sub_resource: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub namespace: Option<Cow<'a, str>>,
    pub operation: Cow<'a, str>,
    pub dry_run: Option<bool>,
    pub object: Option<Payload<'a>>,
    pub old_object: Option<&'a RawValue>,
}

/// `request.kind`.
#[derive(Debug, Deserialize)]
pub struct GroupVersionKindIn<'a> {
    #[serde(borrow, default)]
    pub group: Cow<'a, str>,
    #[serde(borrow, default)]
    pub version: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
}

/// `request.resource`.
#[derive(Debug, Deserialize)]
pub struct GroupVersionResourceIn<'a> {
    #[serde(borrow, default)]
    pub group: Cow<'a, str>,
    #[serde(borrow, default)]
    pub version: Cow<'a, str>,
    #[serde(borrow)]
    pub resource: Cow<'a, str>,
}

impl<'a> GroupVersionResourceIn<'a> {
    /// Parses a raw `request.resource`.
    pub fn parse(raw: &'a RawValue) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw.get())
    }
}

/// The object of a review: parsed while reading, or raw JSON.
#[derive(Debug)]
pub enum Payload<'a> {
    Parsed(Object),
    Raw(&'a RawValue),
}

/// What the caller knows when `object` comes up: decides whether to parse it there and then.
pub struct Seen<'s> {
    pub kind: &'s GroupVersionKindIn<'s>,
    pub namespace: &'s str,
    pub operation: &'s str,
    /// Empty when the object itself is written.
    pub sub_resource: &'s str,
}

/// Decodes a review; `parse_now` names the kind to parse `object` as right away, or None to
/// keep it raw. A body whose object fails to parse as that kind is an error here: decode again
/// with a `parse_now` that returns None to get the review with its raw object.
pub fn decode<'a>(
    body: &'a [u8],
    parse_now: &dyn Fn(&Seen<'_>) -> Option<ObjectKind>,
) -> Result<ReviewIn<'a>, serde_json::Error> {
    // JSON is UTF-8: validating the body once (a fast pass over mostly ASCII) spares the
    // validation of every string and key one by one.
    let text = std::str::from_utf8(body).map_err(|err| {
        <serde_json::Error as serde::de::Error>::custom(format_args!(
            "the body is not UTF-8: {err}"
        ))
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let review = ReviewSeed(parse_now).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(review)
}

/// Never parses the object while reading.
pub fn keep_raw(_: &Seen<'_>) -> Option<ObjectKind> {
    None
}

struct ReviewSeed<'p>(&'p dyn Fn(&Seen<'_>) -> Option<ObjectKind>);

impl<'de> DeserializeSeed<'de> for ReviewSeed<'_> {
    type Value = ReviewIn<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ReviewSeed<'_> {
    type Value = ReviewIn<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionReview object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut review = ReviewIn {
            api_version: None,
            kind: None,
            request: None,
        };
        while let Some(Borrowed(key)) = map.next_key::<Borrowed<'de>>()? {
            match key.as_ref() {
                "apiVersion" => {
                    review.api_version = map.next_value::<Option<Borrowed<'de>>>()?.map(|b| b.0)
                }
                "kind" => review.kind = map.next_value::<Option<Borrowed<'de>>>()?.map(|b| b.0),
                "request" => review.request = map.next_value_seed(OptionalRequest(self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(review)
    }
}

/// A string that borrows from the body unless it holds escapes.
struct Borrowed<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Borrowed<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Borrowed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Borrowed(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Borrowed(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

struct OptionalRequest<'p>(&'p dyn Fn(&Seen<'_>) -> Option<ObjectKind>);

impl<'de> DeserializeSeed<'de> for OptionalRequest<'_> {
    type Value = Option<RequestIn<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalRequest<'_> {
    type Value = Option<RequestIn<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionRequest object")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer
            .deserialize_map(RequestVisitor(self.0))
            .map(Some)
    }
}

struct RequestVisitor<'p>(&'p dyn Fn(&Seen<'_>) -> Option<ObjectKind>);

impl<'de> Visitor<'de> for RequestVisitor<'_> {
    type Value = RequestIn<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionRequest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let text = |value: Option<Borrowed<'de>>| value.map(|b| b.0);
        let (mut uid, mut kind, mut sub_resource, mut name, mut namespace) =
            (None, None, None, None, None);
        let mut resource = None;
        let (mut operation, mut dry_run, mut object, mut old_object) = (None, None, None, None);
        while let Some(Borrowed(key)) = map.next_key::<Borrowed<'de>>()? {
            match key.as_ref() {
                "uid" => uid = text(map.next_value()?),
                "kind" => kind = Some(map.next_value::<GroupVersionKindIn<'de>>()?),
                // Kept raw: as cheap to skip over as an ignored value, parsed only when needed.
                "resource" => resource = map.next_value()?,
                "subResource" => sub_resource = text(map.next_value()?),
                "name" => name = text(map.next_value()?),
                "namespace" => namespace = text(map.next_value()?),
                "operation" => operation = text(map.next_value()?),
                "dryRun" => dry_run = map.next_value()?,
                "oldObject" => old_object = map.next_value()?,
                "object" => {
                    let now = kind.as_ref().and_then(|kind| {
                        (self.0)(&Seen {
                            kind,
                            namespace: namespace.as_deref().unwrap_or(""),
                            operation: operation.as_deref().unwrap_or(""),
                            sub_resource: sub_resource.as_deref().unwrap_or(""),
                        })
                    });
                    object = match now {
                        Some(kind) => map.next_value_seed(ObjectSeed(kind))?.map(Payload::Parsed),
                        None => map.next_value::<Option<&'de RawValue>>()?.map(Payload::Raw),
                    };
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let uid = uid.ok_or_else(|| serde::de::Error::missing_field("uid"))?;
        let kind = kind.ok_or_else(|| serde::de::Error::missing_field("kind"))?;
        let operation = operation.ok_or_else(|| serde::de::Error::missing_field("operation"))?;
        if let Some(Payload::Parsed(parsed)) = object.as_mut() {
            crate::kinds::fill_metadata(
                parsed,
                namespace.as_deref().unwrap_or(""),
                name.as_deref().unwrap_or(""),
            );
        }
        Ok(RequestIn {
            uid,
            kind,
            resource,
            sub_resource,
            name,
            namespace,
            operation,
            dry_run,
            object,
            old_object,
        })
    }
}

/// Parses a (nullable) object of a kind.
struct ObjectSeed(ObjectKind);

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Option<Object>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Option<Object>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} object", self.0.as_str())
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        crate::kinds::parse_from(self.0, deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const REVIEW: &[u8] =
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
        "uid":"u-1","kind":{"group":"apps","version":"v1","kind":"Deployment"},
        "resource":{"group":"apps","version":"v1","resource":"deployments"},
        "name":"api","namespace":"billing","operation":"CREATE","dryRun":true,
        "userInfo":{"username":"alice","groups":["dev"]},
        "object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api",
          "managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{}}}]}},
        "oldObject":null,"options":{"kind":"CreateOptions"}}}"#;

    fn deployments(seen: &Seen<'_>) -> Option<ObjectKind> {
        ObjectKind::admitted(&seen.kind.group, &seen.kind.version, &seen.kind.kind)
    }

    #[test]
    fn keeps_the_object_raw_and_borrows_the_strings() {
        let review = decode(REVIEW, &keep_raw).unwrap();
        assert_eq!(review.api_version.as_deref(), Some("admission.k8s.io/v1"));
        assert_eq!(review.kind.as_deref(), Some("AdmissionReview"));
        let request = review.request.unwrap();
        assert!(matches!(request.uid, Cow::Borrowed("u-1")));
        assert_eq!(request.kind.group, "apps");
        assert_eq!(request.namespace.as_deref(), Some("billing"));
        assert_eq!(request.operation, "CREATE");
        assert_eq!(request.dry_run, Some(true));
        let Some(Payload::Raw(raw)) = request.object else {
            panic!("not raw")
        };
        assert!(raw.get().contains("\"Deployment\""));
        assert!(request.old_object.is_none());
        let resource = GroupVersionResourceIn::parse(request.resource.unwrap()).unwrap();
        assert_eq!(
            (resource.group.as_ref(), resource.version.as_ref()),
            ("apps", "v1")
        );
        assert!(matches!(resource.resource, Cow::Borrowed("deployments")));
    }

    #[test]
    fn parses_the_object_while_reading_when_asked() {
        let seen_namespace = std::cell::RefCell::new(String::new());
        let parse_now = |seen: &Seen<'_>| {
            seen_namespace.replace(format!("{}/{}", seen.namespace, seen.operation));
            deployments(seen)
        };
        let request = decode(REVIEW, &parse_now).unwrap().request.unwrap();
        assert_eq!(*seen_namespace.borrow(), "billing/CREATE");
        let Some(Payload::Parsed(Object::Deployment(deployment))) = request.object else {
            panic!("not parsed")
        };
        assert_eq!(
            deployment.metadata.namespace.as_deref(),
            Some("billing"),
            "filled from the request"
        );
        assert!(
            deployment.metadata.managed_fields.is_none(),
            "managedFields skipped"
        );
    }

    #[test]
    fn an_object_that_does_not_parse_fails_the_eager_decode_only() {
        let bad = String::from_utf8(REVIEW.to_vec())
            .unwrap()
            .replace("\"name\":\"api\",\n", "\"name\":7,\n");
        let bad = bad.replace(r#""metadata":{"name":"api","#, r#""metadata":{"name":7,"#);
        assert!(decode(bad.as_bytes(), &deployments).is_err());
        let request = decode(bad.as_bytes(), &keep_raw).unwrap().request.unwrap();
        assert!(matches!(request.object, Some(Payload::Raw(_))));
    }

    #[test]
    fn malformed_reviews_are_errors() {
        assert!(decode(b"not json", &keep_raw).is_err());
        assert!(
            decode(
                b"{\"request\":{\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\"}}",
                &keep_raw
            )
            .is_err()
        );
        assert!(decode(b"{} trailing", &keep_raw).is_err());
        assert!(
            decode(b"{\"request\":null}", &keep_raw)
                .unwrap()
                .request
                .is_none()
        );
    }
}
