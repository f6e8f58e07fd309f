//! Views handed to rule expressions field by field. Converting a whole view into a template
//! map costs an allocation per field and per nested item (a host's delegation list alone is
//! ~60 entries), yet a condition reads two or three fields. A [`View`] keeps the Rust struct
//! and converts a field only when an expression reads it: the work per object follows what the
//! rules look at, not the size of the view.
//!
//! The struct's own `Serialize` impl is walked to find the field, so a view has exactly the
//! fields, names and values that serialising it would give (what `docs/rules.md` documents).

use std::fmt;
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object};
use serde::Serialize;
use serde::ser::{self, Impossible, SerializeStruct};

/// A struct exposed to expressions as a map whose values are converted on access.
pub struct View<T>(T);

impl<T> View<T>
where
    T: Serialize + Send + Sync + 'static,
{
    /// The template value. `T` must serialise as a struct; anything else has no fields.
    pub fn value(t: T) -> Value {
        Value::from_object(View(t))
    }
}

impl<T> fmt::Debug for View<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("View")
    }
}

impl<T> Object for View<T>
where
    T: Serialize + Send + Sync + 'static,
{
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let mut pick = Pick {
            want: key,
            found: None,
        };
        // The walk stops with an error once the field is found: no need to visit the rest.
        let _ = self.0.serialize(Walk(&mut pick));
        pick.found
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names = Names(Vec::new());
        if self.0.serialize(Walk(&mut names)).is_err() {
            return Enumerator::Empty;
        }
        Enumerator::Iter(Box::new(names.0.into_iter().map(Value::from)))
    }
}

/// What to do with each field of the walked struct.
trait FieldSink {
    /// Returns false to stop the walk.
    fn field<V: Serialize + ?Sized>(&mut self, key: &'static str, value: &V) -> bool;
}

struct Pick<'k> {
    want: &'k str,
    found: Option<Value>,
}

impl FieldSink for Pick<'_> {
    fn field<V: Serialize + ?Sized>(&mut self, key: &'static str, value: &V) -> bool {
        if key == self.want {
            self.found = Some(Value::from(minijinja::value::Serde(value)));
            return false;
        }
        true
    }
}

struct Names(Vec<&'static str>);

impl FieldSink for Names {
    fn field<V: Serialize + ?Sized>(&mut self, key: &'static str, _: &V) -> bool {
        self.0.push(key);
        true
    }
}

/// Ends a walk: the value is not a struct, or the sink has what it wanted.
#[derive(Debug)]
struct NotAStruct;

impl fmt::Display for NotAStruct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a view must serialise as a struct (or the walk was stopped)")
    }
}

impl std::error::Error for NotAStruct {}

impl ser::Error for NotAStruct {
    fn custom<M: fmt::Display>(_: M) -> Self {
        NotAStruct
    }
}

/// A serializer that accepts one struct and hands its fields, unconverted, to a sink.
struct Walk<'s, S>(&'s mut S);

impl<S: FieldSink> SerializeStruct for Walk<'_, S> {
    type Ok = ();
    type Error = NotAStruct;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), NotAStruct> {
        if self.0.field(key, value) {
            Ok(())
        } else {
            Err(NotAStruct)
        }
    }

    fn end(self) -> Result<(), NotAStruct> {
        Ok(())
    }
}

macro_rules! not_a_struct {
    ($($name:ident($($arg:ty),*);)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), NotAStruct> { Err(NotAStruct) })*
    };
}

impl<'s, S: FieldSink> ser::Serializer for Walk<'s, S> {
    type Ok = ();
    type Error = NotAStruct;
    type SerializeSeq = Impossible<(), NotAStruct>;
    type SerializeTuple = Impossible<(), NotAStruct>;
    type SerializeTupleStruct = Impossible<(), NotAStruct>;
    type SerializeTupleVariant = Impossible<(), NotAStruct>;
    type SerializeMap = Impossible<(), NotAStruct>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), NotAStruct>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotAStruct> {
        Ok(self)
    }

    not_a_struct! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<V: Serialize + ?Sized>(self, _: &V) -> Result<(), NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &V,
    ) -> Result<(), NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAStruct> {
        Err(NotAStruct)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAStruct> {
        Err(NotAStruct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::Environment;

    #[derive(Serialize)]
    struct Inner {
        n: u32,
    }

    #[derive(Serialize)]
    struct Outer {
        name: String,
        tags: Vec<String>,
        inner: Option<Inner>,
        none: Option<String>,
        nested: Value,
    }

    fn outer() -> Value {
        View::value(Outer {
            name: "HV01".into(),
            tags: vec!["a".into(), "b".into()],
            inner: Some(Inner { n: 7 }),
            none: None,
            nested: View::value(Inner { n: 9 }),
        })
    }

    #[test]
    fn fields_read_like_the_serialised_map() {
        let env = Environment::new();
        let eval = |src: &str| {
            env.compile_expression(src)
                .unwrap()
                .eval(minijinja::context! { o => outer() })
                .unwrap()
                .to_string()
        };
        assert_eq!(eval("o.name"), "HV01");
        assert_eq!(eval("o.tags|join(',')"), "a,b");
        assert_eq!(eval("o.inner.n + o.nested.n"), "16");
        assert_eq!(eval("o.none is none"), "True");
        assert_eq!(eval("o.missing is undefined"), "True");
        assert_eq!(eval("o|list|join(',')"), "name,tags,inner,none,nested");
        assert_eq!(eval("o|length"), "5");
    }

    #[test]
    fn serialises_to_the_same_json_as_the_struct() {
        let json = serde_json::to_value(outer()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "HV01", "tags": ["a", "b"], "inner": {"n": 7}, "none": null,
                "nested": {"n": 9}
            })
        );
    }

    #[test]
    fn a_non_struct_has_no_fields() {
        let v = View::value(vec![1, 2]);
        assert_eq!(v.get_attr("len").unwrap(), Value::UNDEFINED);
        assert_eq!(v.len(), Some(0));
    }
}
