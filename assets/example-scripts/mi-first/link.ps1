# milink: Azure side of the Managed Instance link (Az.Sql 6.0 or later)
$ResourceGroup = 'rg-milink-lab'
$ManagedInstanceName = 'sqlmi-lab-gp'
Set-AzContext -Subscription '5f1c3a9e-0b7d-4c62-9a51-2d8e6f4b7c10' | Out-Null

# 1. Upload the SQL Server endpoint certificate as a server trust certificate
New-AzSqlInstanceServerTrustCertificate -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName `
    -Name 'Cert_SQLLAB01_endpoint' -PublicKey '<SQLServerPublicKey from T-SQL step 4, 0x...>'

# 2. The managed instance endpoint certificate (import it on SQL Server as T-SQL step 5)
(Get-AzSqlInstanceEndpointCertificate -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName `
    -EndpointType 'DATABASE_MIRRORING').PublicKey

# 3. Join the link link_SalesDb (database SalesDb)
New-AzSqlInstanceLink -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName `
    -Name 'link_SalesDb' -Database 'SalesDb' `
    -PartnerAvailabilityGroupName 'AG_SalesDb' -InstanceAvailabilityGroupName 'AG_SalesDb_MI' `
    -PartnerEndpoint 'TCP://10.0.0.4:5022' -InstanceLinkRole 'Primary' `
    -FailoverMode 'Manual' -SeedingMode 'Automatic'

# 3. Join the link link_Orders (database Orders)
New-AzSqlInstanceLink -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName `
    -Name 'link_Orders' -Database 'Orders' `
    -PartnerAvailabilityGroupName 'AG_Orders' -InstanceAvailabilityGroupName 'AG_Orders_MI' `
    -PartnerEndpoint 'TCP://10.0.0.4:5022' -InstanceLinkRole 'Primary' `
    -FailoverMode 'Manual' -SeedingMode 'Automatic'

# Verify
Get-AzSqlInstanceLink -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName |
    Select-Object Name, InstanceLinkRole, PartnerLinkRole, Databases
