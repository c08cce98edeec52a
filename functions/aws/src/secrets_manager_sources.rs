//! [`SourcesLoader`] over AWS Secrets Manager `GetSecretValue` (the current version).

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use hookline_ports::{SourcesError, SourcesLoader};

#[derive(Debug, Clone)]
pub struct SecretsManagerSourcesLoader {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSourcesLoader {
    /// `secret_id` is the secret's ARN or name.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        SecretsManagerSourcesLoader { client, secret_id: secret_id.into() }
    }
}

impl SourcesLoader for SecretsManagerSourcesLoader {
    async fn load(&self) -> Result<Vec<u8>, SourcesError> {
        let output = self.client.get_secret_value().secret_id(&self.secret_id).send().await.map_err(|e| {
            SourcesError::Fetch { message: DisplayErrorContext(&e).to_string(), source: Some(Box::new(e)) }
        })?;
        if let Some(text) = output.secret_string {
            Ok(text.into_bytes())
        } else if let Some(binary) = output.secret_binary {
            Ok(binary.into_inner())
        } else {
            Err(SourcesError::Fetch { message: "the secret has no value".into(), source: None })
        }
    }
}
