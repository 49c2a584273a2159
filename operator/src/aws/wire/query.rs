//! The AWS query protocol (IAM, RDS, ELBv2, EC2): the form-encoded request body, the XML answer
//! and how to read it ([`Xml`], [`XmlNode`]), its errors (`<Error><Code>` under `ErrorResponse`,
//! or under `Response/Errors` for EC2), pagination by `Marker`, and the percent-decoding IAM
//! applies to policy documents.

use hipaa_controls::aws::{Lookup, LookupError};
use roxmltree::{Document, Node};

use super::{Call, Protocol, Wire};

/// Pages one paginated listing may take at most: a guard against a marker that never ends.
const MAX_PAGES: usize = 1000;

/// `Action=<operation>&Version=<version>&<params>`, form-encoded.
pub(crate) fn form_body(call: Call<'_>, params: &[(&str, &str)]) -> Lookup<String> {
    let Protocol::Query { version } = call.service.protocol else {
        return Err(LookupError::new(
            "ConstructionFailure",
            format!("{} is not a query-protocol service", call.service.sdk_name),
        )
        .with_action(call.action));
    };
    let mut body = format!(
        "Action={}&Version={}",
        encode(call.operation),
        encode(version)
    );
    for (name, value) in params {
        body.push('&');
        body.push_str(&encode(name));
        body.push('=');
        body.push_str(&encode(value));
    }
    Ok(body)
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Undoes percent-encoding (IAM returns policy documents URL-encoded); `None` when the result is
/// not UTF-8. A `%` not followed by two hex digits is kept as written.
pub fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (byte, hex) {
            (b'%', Some(value)) => {
                decoded.push(value);
                index += 3;
            }
            _ => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

/// A query answer: well-formed XML, read through [`Xml::document`].
#[derive(Clone, Debug)]
pub struct Xml {
    text: String,
}

impl Xml {
    /// Checks that `text` is XML; a malformed answer is an error of the call.
    pub(crate) fn parse(text: &str, call: Call<'_>) -> Lookup<Xml> {
        let xml = Xml {
            text: text.to_string(),
        };
        xml.document()
            .map_err(|error| error.with_action(call.action))?;
        Ok(xml)
    }

    /// The parsed document.
    pub fn document(&self) -> Lookup<Document<'_>> {
        Document::parse(&self.text).map_err(|error| {
            LookupError::new(
                "ResponseError",
                format!("the XML answer could not be read: {error}"),
            )
        })
    }

    /// The raw text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Reading an answer's elements by their local names (namespaces ignored, as AWS's differ by
/// version).
pub trait XmlNode<'a, 'input: 'a>: Sized {
    /// The first child element named `name`.
    fn child(&self, name: &str) -> Option<Node<'a, 'input>>;
    /// The first element named `name` below this one, at any depth.
    fn find(&self, name: &str) -> Option<Node<'a, 'input>>;
    /// The text of child `name`, when present and not empty.
    fn text_of(&self, name: &str) -> Option<String>;
    /// Child `name`'s text is `true`.
    fn flag(&self, name: &str) -> bool {
        self.text_of(name)
            .is_some_and(|t| t.eq_ignore_ascii_case("true"))
    }
    /// The element children of list `name` (`<member>` or `<item>` entries).
    fn members(&self, name: &str) -> Vec<Node<'a, 'input>>;
}

impl<'a, 'input: 'a> XmlNode<'a, 'input> for Node<'a, 'input> {
    fn child(&self, name: &str) -> Option<Node<'a, 'input>> {
        self.children()
            .find(|n| n.is_element() && n.tag_name().name() == name)
    }

    fn find(&self, name: &str) -> Option<Node<'a, 'input>> {
        self.descendants()
            .find(|n| n.is_element() && n.tag_name().name() == name)
    }

    fn text_of(&self, name: &str) -> Option<String> {
        self.child(name)
            .and_then(|n| n.text())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }

    fn members(&self, name: &str) -> Vec<Node<'a, 'input>> {
        self.child(name)
            .map(|list| list.children().filter(Node::is_element).collect())
            .unwrap_or_default()
    }
}

/// The `<Operation>Result` element of an answer (EC2 has none: its root).
pub fn result_of<'a, 'input>(document: &'a Document<'input>, operation: &str) -> Node<'a, 'input> {
    let root = document.root_element();
    root.child(&format!("{operation}Result")).unwrap_or(root)
}

/// The code and message of a query error answer.
pub(crate) fn error_of(text: &str) -> Option<(String, String)> {
    let document = Document::parse(text).ok()?;
    let error = document
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Error" && n.child("Code").is_some())?;
    let code = error.text_of("Code")?;
    let message = error.text_of("Message").unwrap_or_default();
    Some((code, message))
}

impl Wire<'_> {
    /// Every page of a query listing: the request's `marker_in` parameter (`Marker`) is set to
    /// the answer's `marker_out` element (`Marker`, `NextMarker`, `NextToken`) until it is absent.
    pub async fn query_pages(
        &self,
        call: Call<'_>,
        params: &[(&str, &str)],
        marker_in: &str,
        marker_out: &str,
    ) -> Lookup<Vec<Xml>> {
        let mut pages = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut all: Vec<(&str, &str)> = params.to_vec();
            if let Some(marker) = &marker {
                all.push((marker_in, marker));
            }
            let page = self.query(call, &all).await?;
            let next = {
                let document = page.document()?;
                result_of(&document, call.operation).text_of(marker_out)
            };
            pages.push(page);
            match next {
                Some(next) if marker.as_ref() != Some(&next) => marker = Some(next),
                _ => return Ok(pages),
            }
        }
        Err(LookupError::new(
            "TooManyPages",
            format!("{} returned more than {MAX_PAGES} pages", call.operation),
        )
        .with_action(call.action))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::services;
    use super::*;

    #[test]
    fn forms_are_encoded_and_documents_decoded() {
        let call = Call {
            service: &services::IAM,
            operation: "GetRole",
            action: "iam:GetRole",
        };
        let body = form_body(call, &[("RoleName", "a b/c+d")]).unwrap();
        assert_eq!(
            body,
            "Action=GetRole&Version=2010-05-08&RoleName=a%20b%2Fc%2Bd"
        );
        let document = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(decode(document).unwrap(), r#"{"Version":"2012-10-17"}"#);
        assert_eq!(decode("100% {}").unwrap(), "100% {}", "plain text stays");
        let json = Call {
            service: &services::DYNAMODB,
            ..call
        };
        assert!(form_body(json, &[]).is_err());
    }

    #[test]
    fn errors_are_read_in_both_layouts() {
        let iam = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not
 authorized</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
        assert_eq!(
            error_of(iam),
            Some(("AccessDenied".into(), "not\n authorized".into()))
        );
        let ec2 = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors></Response>";
        assert_eq!(error_of(ec2).unwrap().0, "RequestLimitExceeded");
        assert_eq!(error_of("<html>bad gateway</html>"), None);
    }

    #[test]
    fn answers_are_read_by_local_names() {
        let text = r#"<ListRolePoliciesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolePoliciesResult><PolicyNames><member>a</member><member>b</member></PolicyNames><IsTruncated>true</IsTruncated><Marker>m1</Marker></ListRolePoliciesResult></ListRolePoliciesResponse>"#;
        let document = Document::parse(text).unwrap();
        let result = result_of(&document, "ListRolePolicies");
        let names: Vec<_> = result
            .members("PolicyNames")
            .iter()
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(result.flag("IsTruncated"));
        assert_eq!(result.text_of("Marker").as_deref(), Some("m1"));
        assert_eq!(result.text_of("Missing"), None);
    }
}
