-- milink: SQL Server side of the Managed Instance link
-- SQL Server SQLLAB01 -> managed instance sqlmi-lab-gp (sqlmi-lab-gp.a1b2c3d4e5f6.database.windows.net)
-- Run in sqlcmd mode. Secrets are never stored here; pass them on the command line:
--   sqlcmd -S <server> -i this.sql -v MasterKeyPassword="<strong password>" ManagedInstanceCertificate=0x<from the Azure step>
:on error exit

USE master;
GO
-- 1. Database master key (protects the endpoint certificate's private key)
IF NOT EXISTS (SELECT 1 FROM sys.symmetric_keys WHERE symmetric_key_id = 101)
    CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'$(MasterKeyPassword)';
GO
-- 2. Endpoint certificate
IF NOT EXISTS (SELECT 1 FROM sys.certificates WHERE name = N'Cert_SQLLAB01_endpoint')
BEGIN
    CREATE CERTIFICATE [Cert_SQLLAB01_endpoint]
        WITH SUBJECT = N'Certificate for Cert_SQLLAB01_endpoint',
        EXPIRY_DATE = N'11/23/2027';
END
GO
-- 3. Database mirroring endpoint secured with the certificate
IF NOT EXISTS (SELECT 1 FROM sys.database_mirroring_endpoints)
BEGIN
    CREATE ENDPOINT [database_mirroring_endpoint]
        STATE = STARTED
        AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL)
        FOR DATABASE_MIRRORING (
            ROLE = ALL,
            AUTHENTICATION = CERTIFICATE [Cert_SQLLAB01_endpoint],
            ENCRYPTION = REQUIRED ALGORITHM AES
        );
END
GO
-- 4. Export the certificate's public key: upload it to the managed instance (Azure step 1)
SELECT CERTENCODED(CERT_ID(N'Cert_SQLLAB01_endpoint')) AS SQLServerPublicKey;
GO
-- 5. Trust the managed instance: its endpoint certificate, named exactly as its FQDN
IF NOT EXISTS (SELECT 1 FROM sys.certificates WHERE name = N'sqlmi-lab-gp.a1b2c3d4e5f6.database.windows.net')
    CREATE CERTIFICATE [sqlmi-lab-gp.a1b2c3d4e5f6.database.windows.net] FROM BINARY = $(ManagedInstanceCertificate);
GO
-- 6. Azure root certificates (import MicrosoftPKI and DigiCertPKI from the published root CAs),
--    bound to *.database.windows.net with sp_certificate_add_issuer. See the runbook.

-- Link link_SalesDb for database SalesDb
-- full backup (starts the log chain: avoids error 1475)
BACKUP DATABASE [SalesDb] TO DISK = N'NUL' WITH CHECKSUM, COMPRESSION;
GO
IF NOT EXISTS (SELECT 1 FROM sys.availability_groups WHERE name = N'AG_SalesDb')
BEGIN
    CREATE AVAILABILITY GROUP [AG_SalesDb]
    WITH (CLUSTER_TYPE = NONE)
    FOR DATABASE [SalesDb]
        REPLICA ON N'SQLLAB01' WITH (
            ENDPOINT_URL = N'TCP://10.0.0.4:5022',
            AVAILABILITY_MODE = SYNCHRONOUS_COMMIT,
            FAILOVER_MODE = MANUAL,
            SEEDING_MODE = AUTOMATIC
        );
END
GO
IF NOT EXISTS (SELECT 1 FROM sys.availability_groups WHERE name = N'link_SalesDb')
BEGIN
    CREATE AVAILABILITY GROUP [link_SalesDb]
    WITH (DISTRIBUTED)
        AVAILABILITY GROUP ON
        N'AG_SalesDb' WITH (
            LISTENER_URL = N'TCP://10.0.0.4:5022',
            AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
            FAILOVER_MODE = MANUAL,
            SEEDING_MODE = AUTOMATIC,
            SESSION_TIMEOUT = 20
        ),
        N'AG_SalesDb_MI' WITH (
            LISTENER_URL = N'tcp://sqlmi-lab-gp.a1b2c3d4e5f6.database.windows.net:5022;Server=[sqlmi-lab-gp]',
            AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
            FAILOVER_MODE = MANUAL,
            SEEDING_MODE = AUTOMATIC
        );
END
GO

-- Link link_Orders for database Orders
-- full backup (starts the log chain: avoids error 1475)
BACKUP DATABASE [Orders] TO DISK = N'NUL' WITH CHECKSUM, COMPRESSION;
GO
IF NOT EXISTS (SELECT 1 FROM sys.availability_groups WHERE name = N'AG_Orders')
BEGIN
    CREATE AVAILABILITY GROUP [AG_Orders]
    WITH (CLUSTER_TYPE = NONE)
    FOR DATABASE [Orders]
        REPLICA ON N'SQLLAB01' WITH (
            ENDPOINT_URL = N'TCP://10.0.0.4:5022',
            AVAILABILITY_MODE = SYNCHRONOUS_COMMIT,
            FAILOVER_MODE = MANUAL,
            SEEDING_MODE = AUTOMATIC
        );
END
GO
IF NOT EXISTS (SELECT 1 FROM sys.availability_groups WHERE name = N'link_Orders')
BEGIN
    CREATE AVAILABILITY GROUP [link_Orders]
    WITH (DISTRIBUTED)
        AVAILABILITY GROUP ON
        N'AG_Orders' WITH (
            LISTENER_URL = N'TCP://10.0.0.4:5022',
            AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
            FAILOVER_MODE = MANUAL,
            SEEDING_MODE = AUTOMATIC,
            SESSION_TIMEOUT = 20
        ),
        N'AG_Orders_MI' WITH (
            LISTENER_URL = N'tcp://sqlmi-lab-gp.a1b2c3d4e5f6.database.windows.net:5022;Server=[sqlmi-lab-gp]',
            AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
            FAILOVER_MODE = MANUAL,
            SEEDING_MODE = AUTOMATIC
        );
END
GO

-- Verify: CONNECTED once the managed instance has joined (Azure step 3)
SELECT r.replica_server_name, r.endpoint_url, rs.connected_state_desc,
       rs.last_connect_error_number, rs.last_connect_error_description
FROM sys.dm_hadr_availability_replica_states rs
JOIN sys.availability_replicas r ON rs.replica_id = r.replica_id;
GO
