#!/usr/bin/env bash
# milink: Azure side of the Managed Instance link (az CLI 2.67 or later)
set -euo pipefail
az account set --subscription '5f1c3a9e-0b7d-4c62-9a51-2d8e6f4b7c10'

# 1. Upload the SQL Server endpoint certificate (SQL_SERVER_PUBLIC_KEY from T-SQL step 4)
az sql mi partner-cert create -g 'rg-milink-lab' --instance-name 'sqlmi-lab-gp' -n 'Cert_SQLLAB01_endpoint' \
    --public-blob "$SQL_SERVER_PUBLIC_KEY"

# 2. The managed instance endpoint certificate (prepend 0x; import with T-SQL step 5)
az sql mi endpoint-cert show -g 'rg-milink-lab' --instance-name 'sqlmi-lab-gp' -n DATABASE_MIRRORING --query publicBlob -o tsv

# 3. Join the link link_SalesDb (database SalesDb)
az sql mi link create -g 'rg-milink-lab' --instance-name 'sqlmi-lab-gp' --name 'link_SalesDb' \
    --databases '['"'"'SalesDb'"'"']' \
    --partner-ag-name 'AG_SalesDb' --instance-ag-name 'AG_SalesDb_MI' \
    --partner-endpoint 'TCP://10.0.0.4:5022' --instance-link-role Secondary \
    --failover-mode Manual --seeding-mode Automatic

# 3. Join the link link_Orders (database Orders)
az sql mi link create -g 'rg-milink-lab' --instance-name 'sqlmi-lab-gp' --name 'link_Orders' \
    --databases '['"'"'Orders'"'"']' \
    --partner-ag-name 'AG_Orders' --instance-ag-name 'AG_Orders_MI' \
    --partner-endpoint 'TCP://10.0.0.4:5022' --instance-link-role Secondary \
    --failover-mode Manual --seeding-mode Automatic

# Verify
az sql mi link list -g 'rg-milink-lab' --instance-name 'sqlmi-lab-gp' -o table
