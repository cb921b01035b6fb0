"""S3 file storage (boto3), with optional CloudFront links."""

from getiickets.adapters.s3.storage import (
    CloudFrontUrls,
    S3Client,
    S3FileStorage,
    UploadObserver,
    create_s3_client,
)

__all__ = ["CloudFrontUrls", "S3Client", "S3FileStorage", "UploadObserver", "create_s3_client"]
