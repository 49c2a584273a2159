//! A serde `Deserializer` adapter that drops `metadata.managedFields` while an object is parsed
//! into its k8s-openapi type. No control reads managedFields (API server bookkeeping, often the
//! largest part of an object's metadata), and k8s-openapi parses it into `serde_json::Value`
//! trees, which is the most allocation-heavy part of the parse. Workloads do not need it: the
//! engine's lean parse skips managedFields with every other field no control reads.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The keys skipped at every depth.
const SKIPPED: &str = "managedFields";

/// Parses `text` as `T`, skipping `managedFields` keys.
pub fn from_str<'de, T: de::Deserialize<'de>>(text: &'de str) -> Result<T, serde_json::Error> {
    let mut inner = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Skip(&mut inner))?;
    inner.end()?;
    Ok(value)
}

/// The adapter around a deserializer.
pub(crate) struct Skip<D>(pub(crate) D);

/// The adapter around a visitor: wraps the maps, sequences and nested values it is given.
struct Wrap<V>(V);

/// The adapter around a seed (values of maps and elements of sequences).
struct SkipSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for SkipSeed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Skip(deserializer))
    }
}

macro_rules! forward {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(Wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Skip<D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, Wrap(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // Enum payloads are passed through unwrapped: no k8s-openapi enum holds ObjectMeta.
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! pass {
    ($($method:ident: $ty:ty),* $(,)?) => {$(
        fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
            self.0.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    pass!(
        visit_bool: bool, visit_i8: i8, visit_i16: i16, visit_i32: i32, visit_i64: i64,
        visit_i128: i128, visit_u8: u8, visit_u16: u16, visit_u32: u32, visit_u64: u64,
        visit_u128: u128, visit_f32: f32, visit_f64: f64, visit_char: char, visit_str: &str,
        visit_borrowed_str: &'de str, visit_string: String, visit_bytes: &[u8],
        visit_borrowed_bytes: &'de [u8], visit_byte_buf: Vec<u8>,
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Skip(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Skip(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(SkipSeq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(SkipMap(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(data)
    }
}

struct SkipSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for SkipSeq<A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(SkipSeed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct SkipMap<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            match self.0.next_key_seed(KeyFilter(seed))? {
                None => return Ok(None),
                Some(Ok(key)) => return Ok(Some(key)),
                Some(Err(unused)) => {
                    self.0.next_value::<IgnoredAny>()?;
                    seed = unused;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(SkipSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Reads a key: a skipped key hands its seed back (`Err`), any other key goes to the seed.
struct KeyFilter<K>(K);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyFilter<K> {
    type Value = Result<K::Value, K>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor(self.0))
    }
}

struct KeyVisitor<K>(K);

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyVisitor<K> {
    type Value = Result<K::Value, K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        if key == SKIPPED {
            return Ok(Err(self.0));
        }
        self.0
            .deserialize(de::value::BorrowedStrDeserializer::<E>::new(key))
            .map(Ok)
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == SKIPPED {
            return Ok(Err(self.0));
        }
        self.0
            .deserialize(de::value::StrDeserializer::<E>::new(key))
            .map(Ok)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use k8s_openapi::api::apps::v1::Deployment;

    use super::*;

    const DEPLOYMENT: &str = r#"{"apiVersion":"apps/v1","kind":"Deployment",
        "metadata":{"name":"api","namespace":"billing","labels":{"app":"api"},
          "managedFields":[{"manager":"kubectl","operation":"Update","fieldsType":"FieldsV1",
            "fieldsV1":{"f:spec":{"f:replicas":{}}}}],"annotations":{"a\"b":"c"}},
        "spec":{"replicas":3,"selector":{"matchLabels":{"app":"api"}},
          "template":{"metadata":{"labels":{"app":"api"},"managedFields":[]},
            "spec":{"containers":[{"name":"c","image":"i:1","env":[{"name":"A","value":"1"}],
              "resources":{"limits":{"cpu":"1"}}}],"securityContext":{"runAsUser":1}}}}}"#;

    #[test]
    fn parses_like_serde_json_without_managed_fields() {
        let skipped: Deployment = from_str(DEPLOYMENT).unwrap();
        let mut full: Deployment = serde_json::from_str(DEPLOYMENT).unwrap();
        assert!(full.metadata.managed_fields.is_some());
        full.metadata.managed_fields = None;
        if let Some(spec) = full.spec.as_mut() {
            spec.template.metadata.as_mut().unwrap().managed_fields = None;
        }
        assert_eq!(skipped, full);
        assert_eq!(skipped.metadata.annotations.unwrap()["a\"b"], "c");
    }

    #[test]
    fn reports_the_same_errors() {
        let bad = r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":"three"}}"#;
        assert!(from_str::<Deployment>(bad).is_err());
        assert!(
            from_str::<Deployment>(r#"{"apiVersion":"apps/v1","kind":"Deployment"} trailing"#)
                .is_err()
        );
        assert!(from_str::<Deployment>(r#"{"apiVersion":"v1","kind":"Pod"}"#).is_err());
    }
}
