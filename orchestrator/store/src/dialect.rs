//! How one body of code serves both databases, and how [`Store`](crate::Store) reaches it.
//!
//! Each table area (`runs.rs`, `queue.rs`, `watch.rs`...) writes its methods once, inside
//! `dialects! { ... }`, which makes them methods of both [`SqliteStore`](crate::SqliteStore)
//! and [`PgStore`](crate::PgStore). The queries differ per dialect (placeholders, SKIP
//! LOCKED, JSONB) while the logic must not, so inside the body:
//! - `sql!("name")` is this dialect's `sql/<dialect>/name.sql`;
//! - `Db` is this dialect's sqlx database (for row and transaction types);
//! - `self.begin()` opens this dialect's write transaction, `self.write_gate()` queues
//!   writers where the database needs it (`backend.rs`).
//!
//! The area then lists its public methods in `delegate! { ... }`, which makes each a method
//! of `Store` forwarding to whichever backend the store is. A new query is one SQL file per
//! dialect, one body, and one line in its area's `delegate!`.

/// Instantiates a body of methods for each dialect (see the module docs).
macro_rules! dialects {
    // `$d` is a `$` for the inner macro's own metavariables.
    (@one ($d:tt) $store:ident, $db:ty, $dialect:literal; $($body:tt)*) => {
        const _: () = {
            macro_rules! sql {
                ($d name:literal) => {
                    include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"), "/sql/", $dialect, "/", $d name, ".sql"
                    ))
                };
            }
            // Not every area names it.
            #[allow(dead_code)]
            type Db = $db;
            impl $crate::backend::$store {
                $($body)*
            }
        };
    };
    ($($body:tt)*) => {
        $crate::dialect::dialects!(@one ($) SqliteStore, sqlx::Sqlite, "sqlite"; $($body)*);
        $crate::dialect::dialects!(@one ($) PgStore, sqlx::Postgres, "postgres"; $($body)*);
    };
}
pub(crate) use dialects;

/// Makes each listed method a method of `Store` that forwards, arguments unchanged, to the
/// backend's method of the same name; `=> (args)` forwards those arguments instead.
macro_rules! delegate {
    ($(
        $(#[$doc:meta])*
        fn $name:ident $(<$g:ident>)? (&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty
            $(where $w:ident: $bound:path)?
            $(=> ($($fwd:expr),*))?;
    )*) => {
        impl $crate::Store {
            $(
                $(#[$doc])*
                pub async fn $name $(<$g>)? (&self $(, $arg: $ty)*) -> $ret
                $(where $w: $bound)?
                {
                    $crate::dialect::delegate!(@call self, $name, $(($($fwd),*),)? ($($arg),*))
                }
            )*
        }
    };
    // The one place a `Store` is matched on to forward a query to its backend.
    (@call $store:ident, $name:ident, ($($a:expr),*) $(, $unused:tt)?) => {
        match $store {
            $crate::Store::Sqlite(s) => s.$name($($a),*).await,
            $crate::Store::Postgres(s) => s.$name($($a),*).await,
        }
    };
}
pub(crate) use delegate;
