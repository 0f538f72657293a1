from .conftest import BUCKET


def test_smoke(pg, s3, source_url, prefix, run, pushgateway):
    code, logs, err = run("backup", "--database-url", source_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--part-size-mib", "5", "--pushgateway", pushgateway.url)
    print(logs, err)
    assert code == 0
    code, logs, err = run("verify", "--scratch-url", pg.url(), "--bucket", BUCKET, "--prefix", prefix)
    print(logs, err)
    assert code == 0
    code, logs, err = run("list", "--bucket", BUCKET, "--prefix", prefix)
    print(logs, err)
