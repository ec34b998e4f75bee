//! Statements prepared once per connection. tokio-postgres sends a query given as text
//! as two round trips, a Parse-and-Describe and then the execution, and the server parses
//! and plans it each time; a statement from the connection's cache (deadpool's) is one
//! round trip. An event append runs four statements, a webhook intake a dozen calls: on
//! a database the replicas share this was half of all the round trips.
//!
//! Only for SQL whose text is fixed: the cache keeps every text it is given for the
//! connection's life, so SQL assembled from a request's filters goes uncached.

use deadpool_postgres::GenericClient;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// `query`, `query_one`, `query_opt` and `execute` through the connection's statement
/// cache, on a pooled connection or a transaction alike.
pub(super) trait Cached: GenericClient {
    fn query_cached<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> BoxFuture<'a, Result<Vec<Row>, Error>> {
        async move {
            let statement = self.prepare_cached(sql).await?;
            self.query(&statement, params).await
        }
        .boxed()
    }

    fn query_one_cached<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> BoxFuture<'a, Result<Row, Error>> {
        async move {
            let statement = self.prepare_cached(sql).await?;
            self.query_one(&statement, params).await
        }
        .boxed()
    }

    fn query_opt_cached<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> BoxFuture<'a, Result<Option<Row>, Error>> {
        async move {
            let statement = self.prepare_cached(sql).await?;
            self.query_opt(&statement, params).await
        }
        .boxed()
    }

    fn execute_cached<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        async move {
            let statement = self.prepare_cached(sql).await?;
            self.execute(&statement, params).await
        }
        .boxed()
    }
}

impl<C: GenericClient> Cached for C {}
